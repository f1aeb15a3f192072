# PostgreSQL 15 on RDS: private subnets only, encrypted with the stack key, TLS enforced,
# automated backups, deletion protection.
#
# The master password is generated once by Secrets Manager and kept in the secret
# `<name>/database`, from which scripts/deploy.sh builds DATABASE_URL. RDS-managed master secrets
# (`manage_master_user_password`) were not used: they rotate every 7 days by default, which would
# silently break the DATABASE_URL held by running pods. Write-only attributes (`password_wo`) with
# an ephemeral password would keep it out of the state, but `terraform test` cannot mock ephemeral
# resources yet, and the security tests matter more; the state bucket is encrypted and private.
# The data source yields a new value on every plan, hence `ignore_changes` on both consumers.
# Rotation: README.md, "Rotating secrets".

data "aws_secretsmanager_random_password" "db" {
  password_length     = 40
  exclude_punctuation = true # the password goes into a URL unescaped
}

resource "aws_secretsmanager_secret" "db" {
  #checkov:skip=CKV2_AWS_57:Automatic rotation would change the password under running pods (DATABASE_URL is read at start); rotation is a documented manual procedure (README.md)
  name                    = "${local.name}/database"
  description             = "Master credentials of the ${local.name} PostgreSQL instance ({username, password})"
  kms_key_id              = aws_kms_key.main.arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "db" {
  secret_id = aws_secretsmanager_secret.db.id
  secret_string = jsonencode({
    username = var.db_username
    password = data.aws_secretsmanager_random_password.db.random_password
  })

  lifecycle {
    ignore_changes = [secret_string]
  }
}

resource "aws_db_subnet_group" "main" {
  name        = local.name
  description = "Private subnets of ${local.name}"
  subnet_ids  = aws_subnet.private[*].id
}

resource "aws_security_group" "db" {
  name        = "${local.name}-db"
  description = "PostgreSQL of ${local.name}: reachable from the EKS cluster only"
  vpc_id      = aws_vpc.main.id

  tags = { Name = "${local.name}-db" }
}

resource "aws_vpc_security_group_ingress_rule" "db_from_cluster" {
  security_group_id            = aws_security_group.db.id
  description                  = "PostgreSQL from EKS nodes and pods (cluster security group)"
  referenced_security_group_id = aws_eks_cluster.main.vpc_config[0].cluster_security_group_id
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
}

resource "aws_db_parameter_group" "main" {
  name_prefix = "${local.name}-pg${var.db_engine_version}-"
  family      = "postgres${split(".", var.db_engine_version)[0]}"
  description = "${local.name}: TLS required, slow statements logged"

  parameter {
    name  = "rds.force_ssl" # PostgreSQL 15 defaults to 0; DATABASE_URL carries sslmode=require
    value = "1"
  }

  parameter {
    name  = "log_min_duration_statement" # milliseconds; slow queries show up in CloudWatch
    value = "500"
  }

  lifecycle {
    create_before_destroy = true
  }
}

# Pre-created so that the exported PostgreSQL logs get a retention and the stack key.
resource "aws_cloudwatch_log_group" "rds" {
  #checkov:skip=CKV_AWS_338:Logs carry client IP addresses (personal data); 30 days (var.log_retention_days) is enough to investigate incidents, a year would be a privacy liability
  for_each = toset(["postgresql", "upgrade"])

  name              = "/aws/rds/instance/${local.name}/${each.value}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_db_instance" "main" {
  #checkov:skip=CKV_AWS_157:A standby doubles the database cost; the MVP relies on automated backups/PITR and can switch on var.db_multi_az without downtime
  #checkov:skip=CKV_AWS_353:Slow statements are logged (log_min_duration_statement, exported to CloudWatch); Performance/Database Insights can be enabled later without downtime
  #checkov:skip=CKV_AWS_118:Enhanced monitoring adds a role and per-second OS metrics billed as CloudWatch Logs; the basic RDS metrics and the CPU alarm are enough at MVP scale
  identifier     = local.name
  engine         = "postgres"
  engine_version = var.db_engine_version
  instance_class = var.db_instance_class

  allocated_storage     = var.db_allocated_storage_gb
  max_allocated_storage = var.db_max_allocated_storage_gb
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = aws_kms_key.main.arn

  db_name  = var.db_name
  username = var.db_username
  password = data.aws_secretsmanager_random_password.db.random_password

  db_subnet_group_name   = aws_db_subnet_group.main.name
  vpc_security_group_ids = [aws_security_group.db.id]
  publicly_accessible    = false
  multi_az               = var.db_multi_az
  parameter_group_name   = aws_db_parameter_group.main.name

  backup_retention_period   = var.db_backup_retention_days
  backup_window             = "03:00-04:00"
  maintenance_window        = "sun:04:30-sun:05:30"
  copy_tags_to_snapshot     = true
  deletion_protection       = var.db_deletion_protection
  skip_final_snapshot       = false
  final_snapshot_identifier = "${local.name}-final"

  auto_minor_version_upgrade          = true
  iam_database_authentication_enabled = true # harmless for password logins; lets operators use IAM tokens
  enabled_cloudwatch_logs_exports     = ["postgresql", "upgrade"]

  lifecycle {
    ignore_changes = [password]
  }

  depends_on = [aws_cloudwatch_log_group.rds]
}
