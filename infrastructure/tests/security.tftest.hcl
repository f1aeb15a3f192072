# Offline tests of the security properties and MVP sizes (`terraform test`, no AWS credentials):
# every AWS call is answered by a mock provider, so these check the configuration Terraform would
# send, not AWS behaviour. Run by scripts/check-infra.sh.

mock_provider "aws" {
  mock_data "aws_availability_zones" {
    defaults = {
      names = ["us-east-1a", "us-east-1b"]
    }
  }

  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }

  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }

  # Policy documents must be JSON for the resources that embed them.
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }

  # Generated secrets: a realistic length so the provider's validation of auth_token applies.
  mock_data "aws_secretsmanager_random_password" {
    defaults = {
      random_password = "mockmockmockmockmockmockmockmockmockmockmockmockmockmockmockmock"
    }
  }

  # No ALB yet (first apply, before the Ingress exists).
  mock_data "aws_lbs" {
    defaults = {
      arns = []
    }
  }

  mock_resource "aws_eks_cluster" {
    defaults = {
      identity = [{ oidc = [{ issuer = "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE" }] }]
      arn      = "arn:aws:eks:us-east-1:123456789012:cluster/adserver-default"
    }
  }

  mock_resource "aws_s3_bucket" {
    defaults = {
      arn                         = "arn:aws:s3:::adserver-default-creatives-123456789012"
      bucket_regional_domain_name = "adserver-default-creatives-123456789012.s3.us-east-1.amazonaws.com"
    }
  }

  mock_resource "aws_acm_certificate" {
    defaults = {
      arn = "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
      domain_validation_options = [{
        domain_name           = "example.com"
        resource_record_name  = "_0123.example.com."
        resource_record_type  = "CNAME"
        resource_record_value = "_4567.acm-validations.aws."
      }]
    }
  }

  # Attributes that other resources validate as ARNs.
  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/mock"
    }
  }

  mock_resource "aws_iam_policy" {
    defaults = {
      arn = "arn:aws:iam::123456789012:policy/mock"
    }
  }

  mock_resource "aws_sns_topic" {
    defaults = {
      arn = "arn:aws:sns:us-east-1:123456789012:mock"
    }
  }

  mock_resource "aws_cloudwatch_log_group" {
    defaults = {
      arn = "arn:aws:logs:us-east-1:123456789012:log-group:mock"
    }
  }

  mock_resource "aws_secretsmanager_secret" {
    defaults = {
      arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:mock"
    }
  }

  mock_resource "aws_cloudfront_distribution" {
    defaults = {
      arn         = "arn:aws:cloudfront::123456789012:distribution/EMOCK"
      domain_name = "d111111abcdef8.cloudfront.net"
    }
  }

  mock_resource "aws_launch_template" {
    defaults = {
      id             = "lt-0123456789abcdef0"
      latest_version = 1
    }
  }

  mock_resource "aws_kms_key" {
    defaults = {
      arn = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    }
  }

  mock_resource "aws_iam_openid_connect_provider" {
    defaults = {
      arn = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
    }
  }
}

# The CloudFront certificate's provider (us-east-1). Without this mock it would look for real
# credentials.
mock_provider "aws" {
  alias = "us_east_1"

  mock_resource "aws_acm_certificate" {
    defaults = {
      arn = "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
      domain_validation_options = [{
        domain_name           = "example.com"
        resource_record_name  = "_0123.example.com."
        resource_record_type  = "CNAME"
        resource_record_value = "_4567.acm-validations.aws."
      }]
    }
  }
}

variables {
  route53_zone_name                    = "example.com"
  app_domain_name                      = "ads.example.com"
  cdn_domain_name                      = "cdn.example.com"
  cluster_endpoint_public_access_cidrs = ["203.0.113.0/24"]
}

run "creatives_bucket_is_private_encrypted_versioned" {
  command = apply

  assert {
    condition = alltrue([
      aws_s3_bucket_public_access_block.creatives.block_public_acls,
      aws_s3_bucket_public_access_block.creatives.block_public_policy,
      aws_s3_bucket_public_access_block.creatives.ignore_public_acls,
      aws_s3_bucket_public_access_block.creatives.restrict_public_buckets,
    ])
    error_message = "The creatives bucket must block every form of public access."
  }

  assert {
    condition     = aws_s3_bucket_ownership_controls.creatives.rule[0].object_ownership == "BucketOwnerEnforced"
    error_message = "ACLs must be disabled on the creatives bucket."
  }

  assert {
    condition     = one([for r in aws_s3_bucket_server_side_encryption_configuration.creatives.rule : one(r.apply_server_side_encryption_by_default).sse_algorithm]) == "AES256"
    error_message = "The creatives bucket must be encrypted at rest."
  }

  assert {
    condition     = aws_s3_bucket_versioning.creatives.versioning_configuration[0].status == "Enabled"
    error_message = "The creatives bucket must be versioned."
  }

  assert {
    condition     = aws_s3_bucket.creatives.force_destroy == false
    error_message = "Destroying the stack must not delete creatives."
  }

  assert {
    condition     = aws_cloudfront_distribution.creatives.default_cache_behavior[0].viewer_protocol_policy == "redirect-to-https"
    error_message = "The CDN must redirect plain HTTP to HTTPS."
  }

  assert {
    condition     = aws_cloudfront_origin_access_control.creatives.signing_behavior == "always"
    error_message = "CloudFront must reach the bucket through origin access control."
  }

  assert {
    condition     = aws_cloudfront_distribution.creatives.viewer_certificate[0].minimum_protocol_version == "TLSv1.2_2021"
    error_message = "The CDN must refuse TLS older than 1.2."
  }
}

run "database_is_private_encrypted_backed_up" {
  command = apply

  assert {
    condition     = aws_db_instance.main.publicly_accessible == false
    error_message = "RDS must not be publicly accessible."
  }

  assert {
    condition     = aws_db_instance.main.storage_encrypted
    error_message = "RDS storage must be encrypted."
  }

  assert {
    condition     = aws_db_instance.main.backup_retention_period >= 1
    error_message = "RDS automated backups must be on."
  }

  assert {
    condition     = aws_db_instance.main.deletion_protection && !aws_db_instance.main.skip_final_snapshot
    error_message = "RDS must be protected from deletion and keep a final snapshot."
  }

  assert {
    condition     = startswith(aws_db_instance.main.engine_version, "15")
    error_message = "The database must be PostgreSQL 15."
  }

  assert {
    condition     = length(nonsensitive(aws_db_instance.main.password)) >= 32
    error_message = "The database password must be a long generated one."
  }

  assert {
    condition     = one([for p in aws_db_parameter_group.main.parameter : p.value if p.name == "rds.force_ssl"]) == "1"
    error_message = "PostgreSQL must refuse unencrypted connections."
  }

  assert {
    condition     = toset(aws_db_subnet_group.main.subnet_ids) == toset(aws_subnet.private[*].id)
    error_message = "RDS must live in the private subnets only."
  }
}

run "redis_is_private_and_encrypted" {
  command = apply

  assert {
    condition     = aws_elasticache_replication_group.main.transit_encryption_enabled && aws_elasticache_replication_group.main.transit_encryption_mode == "required"
    error_message = "Redis must require TLS in transit."
  }

  assert {
    condition     = aws_elasticache_replication_group.main.at_rest_encryption_enabled
    error_message = "Redis must be encrypted at rest."
  }

  assert {
    condition     = length(nonsensitive(aws_elasticache_replication_group.main.auth_token)) >= 32
    error_message = "Redis must require a strong AUTH token."
  }

  assert {
    condition     = startswith(aws_elasticache_replication_group.main.engine_version, "7")
    error_message = "Redis must be version 7."
  }

  assert {
    condition     = toset(aws_elasticache_subnet_group.main.subnet_ids) == toset(aws_subnet.private[*].id)
    error_message = "Redis must live in the private subnets only."
  }
}

run "network_and_cluster" {
  command = apply

  assert {
    condition     = length(aws_subnet.public) == 2 && length(aws_subnet.private) == 2
    error_message = "The VPC must have one public and one private subnet in each of 2 AZs."
  }

  assert {
    condition     = length(toset([for s in aws_subnet.private : s.availability_zone])) == 2
    error_message = "The private subnets must be in distinct availability zones."
  }

  assert {
    condition     = alltrue([for s in aws_subnet.public : !s.map_public_ip_on_launch])
    error_message = "Nothing launched in a public subnet may get a public IP implicitly."
  }

  assert {
    condition     = length(aws_nat_gateway.main) == 1
    error_message = "The MVP uses a single NAT gateway."
  }

  assert {
    condition     = aws_eks_node_group.main.scaling_config[0].desired_size == 2 && aws_eks_node_group.main.scaling_config[0].min_size == 2 && aws_eks_node_group.main.scaling_config[0].max_size == 4
    error_message = "The MVP node group must be 2 nodes, min 2, max 4."
  }

  assert {
    condition     = aws_eks_node_group.main.instance_types == tolist(["t3.medium"])
    error_message = "The MVP nodes must be t3.medium."
  }

  assert {
    condition     = toset(aws_eks_node_group.main.subnet_ids) == toset(aws_subnet.private[*].id)
    error_message = "Worker nodes must live in the private subnets."
  }

  assert {
    condition     = aws_launch_template.nodes.metadata_options[0].http_tokens == "required" && aws_launch_template.nodes.metadata_options[0].http_put_response_hop_limit == 1
    error_message = "Nodes must require IMDSv2 and keep pods away from the node role."
  }

  assert {
    condition     = one(aws_launch_template.nodes.block_device_mappings[0].ebs).encrypted == "true"
    error_message = "Node volumes must be encrypted."
  }

  assert {
    condition     = one(aws_eks_cluster.main.encryption_config[0].resources) == "secrets"
    error_message = "Kubernetes Secrets must be encrypted with KMS."
  }

  assert {
    condition     = !contains(aws_eks_cluster.main.vpc_config[0].public_access_cidrs, "0.0.0.0/0")
    error_message = "The Kubernetes API must not be open to the whole internet."
  }

  assert {
    condition     = aws_eks_addon.cloudwatch_observability.addon_name == "amazon-cloudwatch-observability"
    error_message = "Container logs must be shipped to CloudWatch by the observability add-on."
  }

  assert {
    condition     = aws_eks_addon.metrics_server.addon_name == "metrics-server"
    error_message = "The HorizontalPodAutoscaler needs metrics-server."
  }
}

run "app_role_is_scoped_to_the_bucket" {
  command = apply

  assert {
    condition     = alltrue(flatten([for s in data.aws_iam_policy_document.app.statement : [for r in s.resources : startswith(r, aws_s3_bucket.creatives.arn)]]))
    error_message = "The app's IAM policy may only name the creatives bucket."
  }

  assert {
    condition = anytrue([
      for c in one(data.aws_iam_policy_document.irsa_trust["app"].statement).condition :
      c.values == tolist(["system:serviceaccount:adserver:adserver"])
    ])
    error_message = "Only the adserver/adserver service account may assume the app role."
  }

  assert {
    condition     = aws_ecr_repository.app.image_tag_mutability == "IMMUTABLE"
    error_message = "Image tags must be immutable (rollback by tag depends on it)."
  }
}

run "event_files_are_private_and_only_the_flusher_writes_them" {
  command = apply

  assert {
    condition = alltrue([
      aws_s3_bucket_public_access_block.events.block_public_acls,
      aws_s3_bucket_public_access_block.events.block_public_policy,
      aws_s3_bucket_public_access_block.events.ignore_public_acls,
      aws_s3_bucket_public_access_block.events.restrict_public_buckets,
    ])
    error_message = "The events bucket must block every form of public access."
  }

  assert {
    condition     = one([for r in aws_s3_bucket_server_side_encryption_configuration.events.rule : one(r.apply_server_side_encryption_by_default).sse_algorithm]) == "aws:kms"
    error_message = "The events bucket must be encrypted with the stack key."
  }

  assert {
    condition     = aws_s3_bucket.events.bucket != aws_s3_bucket.creatives.bucket
    error_message = "Log-level data must not share the creatives' (CDN-served) bucket."
  }

  assert {
    condition     = alltrue(flatten([for s in data.aws_iam_policy_document.flusher.statement : [for r in s.resources : startswith(r, aws_s3_bucket.events.arn) || r == aws_kms_key.main.arn]]))
    error_message = "The flusher's IAM policy may only name the events bucket and the stack key."
  }

  assert {
    condition     = alltrue([for s in data.aws_iam_policy_document.flusher.statement : alltrue([for a in s.actions : !contains(["s3:GetObject", "s3:DeleteObject", "s3:*"], a)])])
    error_message = "The flusher only writes event files: no reads or deletes."
  }

  assert {
    condition = anytrue([
      for c in one(data.aws_iam_policy_document.irsa_trust["flusher"].statement).condition :
      c.values == tolist(["system:serviceaccount:adserver:adserver-flusher"])
    ])
    error_message = "Only the adserver/adserver-flusher service account may assume the flusher role."
  }

  assert {
    condition     = aws_athena_workgroup.events.configuration[0].enforce_workgroup_configuration
    error_message = "The Athena workgroup must enforce its encrypted result location."
  }
}

run "alb_alarms_wait_for_the_alb" {
  command = apply

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.alb_5xx_rate) == 0 && length(aws_route53_record.app) == 0
    error_message = "Without an ALB, no ALB alarm or app record may be created."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.rds_cpu.threshold == 80
    error_message = "The RDS CPU alarm must exist from the first apply."
  }
}

run "alb_alarms_once_the_alb_exists" {
  command = apply

  override_data {
    target = data.aws_lbs.app
    values = {
      arns = ["arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/k8s-adserver-0123456789/0123456789abcdef"]
    }
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.alb_5xx_rate) == 1 && length(aws_cloudwatch_metric_alarm.alb_p99_latency) == 1
    error_message = "Both ALB alarms must exist once the ALB exists."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.alb_p99_latency[0].dimensions["LoadBalancer"] == "app/k8s-adserver-0123456789/0123456789abcdef"
    error_message = "The ALB alarms must use the load balancer's ARN suffix as dimension."
  }

  assert {
    condition     = length(aws_route53_record.app) == 1
    error_message = "The app record must point at the ALB once it exists."
  }
}

run "backups_cannot_be_turned_off" {
  command = plan

  variables {
    db_backup_retention_days = 0
  }

  expect_failures = [var.db_backup_retention_days]
}

run "one_az_is_refused" {
  command = plan

  variables {
    availability_zone_suffixes = ["a"]
  }

  expect_failures = [var.availability_zone_suffixes]
}

run "kubernetes_api_open_to_the_internet_is_refused" {
  command = plan

  variables {
    cluster_endpoint_public_access_cidrs = ["0.0.0.0/0"]
  }

  expect_failures = [var.cluster_endpoint_public_access_cidrs]
}
