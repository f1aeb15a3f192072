# Redis 7 on ElastiCache: counters, the beacon stream, catalog version and rate limits.
# Private subnets, TLS in transit (REDIS_URL is rediss://), encrypted at rest with the stack key,
# AUTH token required.
#
# ElastiCache has no write-only attribute for its AUTH token, so unlike the database password this
# one is in the (encrypted, access-controlled) state. It is generated once: later plans would see a
# new random value from the data source, hence `ignore_changes` on both consumers. To rotate it,
# taint aws_secretsmanager_secret_version.redis and use ElastiCache's ROTATE strategy.

data "aws_secretsmanager_random_password" "redis" {
  password_length     = 64
  exclude_punctuation = true # AUTH tokens refuse some punctuation, and it goes into a URL
}

resource "aws_secretsmanager_secret" "redis" {
  #checkov:skip=CKV2_AWS_57:The AUTH token is rotated with ElastiCache ROTATE + a redeploy (README.md); a rotation Lambda cannot update the token held by running pods
  name                    = "${local.name}/redis"
  description             = "AUTH token of the ${local.name} ElastiCache replication group ({auth_token})"
  kms_key_id              = aws_kms_key.main.arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "redis" {
  secret_id     = aws_secretsmanager_secret.redis.id
  secret_string = jsonencode({ auth_token = data.aws_secretsmanager_random_password.redis.random_password })

  lifecycle {
    ignore_changes = [secret_string]
  }
}

resource "aws_elasticache_subnet_group" "main" {
  name        = local.name
  description = "Private subnets of ${local.name}"
  subnet_ids  = aws_subnet.private[*].id
}

resource "aws_security_group" "redis" {
  name        = "${local.name}-redis"
  description = "Redis of ${local.name}: reachable from the EKS cluster only"
  vpc_id      = aws_vpc.main.id

  tags = { Name = "${local.name}-redis" }
}

resource "aws_vpc_security_group_ingress_rule" "redis_from_cluster" {
  security_group_id            = aws_security_group.redis.id
  description                  = "Redis (TLS) from EKS nodes and pods (cluster security group)"
  referenced_security_group_id = aws_eks_cluster.main.vpc_config[0].cluster_security_group_id
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
}

resource "aws_elasticache_replication_group" "main" {
  #checkov:skip=CKV2_AWS_50:One node in the MVP (cost); failover turns on with var.redis_num_cache_clusters >= 2. The beacon stream is drained continuously, so a node loss costs only the undrained tail
  replication_group_id = local.name
  description          = "${local.name} counters, beacon stream and rate limits"

  engine               = "redis"
  engine_version       = var.redis_engine_version
  node_type            = var.redis_node_type
  num_cache_clusters   = var.redis_num_cache_clusters
  parameter_group_name = "default.redis7"
  port                 = 6379

  # A replica is needed for failover; the MVP runs one node (the beacon stream is drained into
  # PostgreSQL continuously, so a node loss costs at most the undrained tail).
  automatic_failover_enabled = var.redis_num_cache_clusters > 1
  multi_az_enabled           = var.redis_num_cache_clusters > 1

  subnet_group_name  = aws_elasticache_subnet_group.main.name
  security_group_ids = [aws_security_group.redis.id]

  transit_encryption_enabled = true
  transit_encryption_mode    = "required"
  at_rest_encryption_enabled = true
  kms_key_id                 = aws_kms_key.main.arn
  auth_token                 = data.aws_secretsmanager_random_password.redis.random_password

  snapshot_retention_limit   = var.redis_snapshot_retention_days
  snapshot_window            = "02:00-03:00"
  maintenance_window         = "sun:05:30-sun:06:30"
  auto_minor_version_upgrade = true
  apply_immediately          = false

  lifecycle {
    ignore_changes = [auth_token]
  }
}
