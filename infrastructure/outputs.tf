# What an operator (and scripts/deploy.sh) needs after `terraform apply`. No secret values:
# secrets are referenced by ARN and read from Secrets Manager by the deploy script.

output "aws_region" {
  description = "Region of the stack."
  value       = var.aws_region
}

output "cluster_name" {
  description = "EKS cluster name (aws eks update-kubeconfig --name ...)."
  value       = aws_eks_cluster.main.name
}

output "kubeconfig_command" {
  description = "Command that points kubectl at the cluster."
  value       = "aws eks update-kubeconfig --region ${var.aws_region} --name ${aws_eks_cluster.main.name}"
}

output "vpc_id" {
  description = "VPC id (the Load Balancer Controller is told it explicitly: pods cannot read IMDS)."
  value       = aws_vpc.main.id
}

output "ecr_repository_url" {
  description = "Where scripts/deploy.sh pushes the image."
  value       = aws_ecr_repository.app.repository_url
}

output "k8s_namespace" {
  description = "Namespace of the application."
  value       = var.k8s_namespace
}

output "app_role_arn" {
  description = "IRSA role of the app's service account (S3 creatives bucket only)."
  value       = aws_iam_role.app.arn
}

output "load_balancer_controller_role_arn" {
  description = "IRSA role of the AWS Load Balancer Controller (kube-system/aws-load-balancer-controller)."
  value       = aws_iam_role.load_balancer_controller.arn
}

output "acm_certificate_arn" {
  description = "Validated certificate of the app domain, for the Ingress."
  value       = aws_acm_certificate_validation.app.certificate_arn
}

output "public_base_url" {
  description = "PUBLIC_BASE_URL of the app."
  value       = "https://${var.app_domain_name}"
}

output "app_domain_name" {
  description = "Host name of the ad server."
  value       = var.app_domain_name
}

output "s3_bucket" {
  description = "S3_BUCKET of the app (creatives)."
  value       = aws_s3_bucket.creatives.bucket
}

output "event_export_bucket" {
  description = "EVENT_EXPORT_BUCKET of the flusher (Parquet files of raw events)."
  value       = aws_s3_bucket.events.bucket
}

output "flusher_role_arn" {
  description = "IRSA role of the flusher's service account (events bucket writes)."
  value       = aws_iam_role.flusher.arn
}

output "athena_workgroup" {
  description = "Athena workgroup and Glue database for queries over the log-level data."
  value       = "${aws_athena_workgroup.events.name} (database ${aws_glue_catalog_database.events.name})"
}

output "cdn_base_url" {
  description = "CDN_BASE_URL of the app (CloudFront with the custom domain)."
  value       = "https://${var.cdn_domain_name}"
}

output "cloudfront_distribution_id" {
  description = "CloudFront distribution id (cache invalidations)."
  value       = aws_cloudfront_distribution.creatives.id
}

output "db_host" {
  description = "PostgreSQL host name (private)."
  value       = aws_db_instance.main.address
}

output "db_port" {
  description = "PostgreSQL port."
  value       = aws_db_instance.main.port
}

output "db_name" {
  description = "Application database name."
  value       = aws_db_instance.main.db_name
}

output "db_secret_arn" {
  description = "Secrets Manager secret with the database {username, password}."
  value       = aws_secretsmanager_secret.db.arn
}

output "redis_host" {
  description = "Primary endpoint of the Redis replication group (TLS); its configuration endpoint in cluster mode."
  value = (
    local.redis_cluster_mode
    ? aws_elasticache_replication_group.main.configuration_endpoint_address
    : aws_elasticache_replication_group.main.primary_endpoint_address
  )
}

output "jobs_redis_host" {
  description = "Primary endpoint of the transcode queue's Redis (TLS) in cluster mode; empty without (the queue is then on redis_host)."
  value       = local.redis_cluster_mode ? aws_elasticache_replication_group.jobs[0].primary_endpoint_address : ""
}

output "redis_cluster" {
  description = "The app's REDIS_CLUSTER: 1 in cluster mode (redis_num_node_groups > 1), else 0."
  value       = local.redis_cluster_mode ? 1 : 0
}

output "event_shards" {
  description = "The app's EVENT_SHARDS: redis_event_shards in cluster mode, 1 without."
  value       = local.redis_cluster_mode ? var.redis_event_shards : 1
}

output "redis_port" {
  description = "Redis port."
  value       = aws_elasticache_replication_group.main.port
}

output "redis_secret_arn" {
  description = "Secrets Manager secret with the Redis {auth_token}."
  value       = aws_secretsmanager_secret.redis.arn
}

output "app_secret_arn" {
  description = "Secrets Manager secret with the app's {secret_key}."
  value       = aws_secretsmanager_secret.app.arn
}

output "application_log_group" {
  description = "CloudWatch log group of the containers' stdout (the app's JSON logs)."
  value       = aws_cloudwatch_log_group.container_insights["application"].name
}

output "alarm_topic_arn" {
  description = "SNS topic of the alarms (subscribe pagers/chat here)."
  value       = aws_sns_topic.alarms.arn
}

output "alb_dns_name" {
  description = "DNS name of the ALB once the Ingress exists (empty before: re-run apply after the first deploy)."
  value       = local.alb_arn == null ? "" : data.aws_lb.app[0].dns_name
}
