# Every knob of the stack. Defaults are the MVP sizes (see README.md, "Monthly cost"); a bigger
# environment overrides them in its own <workspace>.tfvars rather than editing this file.

# --- Naming, region, DNS ----------------------------------------------------------------------

variable "project" {
  description = "Short name prefixed to every resource (with the workspace: <project>-<workspace>)."
  type        = string
  default     = "adserver"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.project))
    error_message = "project must be 2-21 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "aws_region" {
  description = "Region of everything except the CloudFront certificate (always us-east-1)."
  type        = string
  default     = "us-east-1"
}

variable "route53_zone_name" {
  description = "Existing public Route53 hosted zone that holds the service's records, e.g. example.com."
  type        = string
}

variable "app_domain_name" {
  description = "Public host name of the ad server (ALB), e.g. ads.example.com; becomes PUBLIC_BASE_URL."
  type        = string
}

variable "alb_ingress_group" {
  description = "IngressGroup name of the app's Ingress (annotation alb.ingress.kubernetes.io/group.name in k8s/base/ingress.yaml); used to find the ALB."
  type        = string
  default     = "adserver"
}

variable "cdn_domain_name" {
  description = "Public host name of the creatives CDN (CloudFront), e.g. cdn.example.com; becomes CDN_BASE_URL."
  type        = string
}

variable "tags" {
  description = "Extra tags added to every resource (cost allocation, owner)."
  type        = map(string)
  default     = {}
}

# --- Network -------------------------------------------------------------------------------------

variable "vpc_cidr" {
  description = "CIDR of the VPC; split into one public and one private subnet per availability zone."
  type        = string
  default     = "10.40.0.0/16"
}

variable "availability_zone_suffixes" {
  description = "Availability zones used, as letters appended to the region (us-east-1 + a, b). EKS and the RDS subnet group need at least 2. Pinned, so that AWS adding or impairing a zone never moves a subnet."
  type        = list(string)
  default     = ["a", "b"]

  validation {
    condition     = length(var.availability_zone_suffixes) >= 2 && length(var.availability_zone_suffixes) <= 3
    error_message = "Use 2 or 3 availability zones."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway shared by all private subnets (cheap, one AZ is a single point of egress failure) instead of one per AZ."
  type        = bool
  default     = true
}

variable "flow_log_traffic_type" {
  description = "VPC flow log traffic type (ACCEPT, REJECT or ALL); REJECT keeps ingestion cost low."
  type        = string
  default     = "REJECT"
}

# --- EKS -----------------------------------------------------------------------------------------

variable "cluster_version" {
  description = "Kubernetes minor version of the EKS control plane (manifests are validated against it by scripts/check-infra.sh)."
  type        = string
  default     = "1.35"
}

variable "cluster_endpoint_public_access_cidrs" {
  description = "CIDRs allowed to reach the public Kubernetes API endpoint (operators, CI). Keep it narrow; 0.0.0.0/0 is refused."
  type        = list(string)

  validation {
    condition     = length(var.cluster_endpoint_public_access_cidrs) > 0 && !contains(var.cluster_endpoint_public_access_cidrs, "0.0.0.0/0")
    error_message = "Name at least one CIDR that may reach the Kubernetes API, and not 0.0.0.0/0."
  }
}

variable "cluster_admin_principal_arns" {
  description = "IAM users/roles (besides the identity running terraform) granted cluster-admin through EKS access entries."
  type        = list(string)
  default     = []
}

variable "node_instance_types" {
  description = "Instance types of the managed node group."
  type        = list(string)
  default     = ["t3.medium"]
}

variable "node_capacity_type" {
  description = "ON_DEMAND or SPOT for the managed node group."
  type        = string
  default     = "ON_DEMAND"
}

variable "node_desired_size" {
  description = "Initial number of worker nodes (later changes are ignored so a cluster autoscaler or an operator owns it)."
  type        = number
  default     = 2
}

variable "node_min_size" {
  description = "Minimum number of worker nodes."
  type        = number
  default     = 2
}

variable "node_max_size" {
  description = "Maximum number of worker nodes."
  type        = number
  default     = 4

  validation {
    condition     = var.node_max_size >= 1
    error_message = "node_max_size must be at least 1."
  }
}

variable "node_disk_size_gb" {
  description = "Root volume (gp3, encrypted) of each worker node, in GiB."
  type        = number
  default     = 20
}

variable "k8s_namespace" {
  description = "Namespace the application runs in (must match k8s/base/namespace.yaml); scopes the IRSA trust."
  type        = string
  default     = "adserver"
}

variable "k8s_service_account" {
  description = "Service account of the application pods (must match k8s/base/serviceaccount.yaml); the only one allowed to assume the app role."
  type        = string
  default     = "adserver"
}

# --- PostgreSQL ------------------------------------------------------------------------------------

variable "db_engine_version" {
  description = "PostgreSQL major version of the RDS instance (minor versions are upgraded automatically)."
  type        = string
  default     = "15"
}

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.micro"
}

variable "db_allocated_storage_gb" {
  description = "Initial gp3 storage of the database, in GiB."
  type        = number
  default     = 20
}

variable "db_max_allocated_storage_gb" {
  description = "Storage autoscaling ceiling of the database, in GiB."
  type        = number
  default     = 100
}

variable "db_multi_az" {
  description = "Run a synchronous standby in a second AZ (doubles the instance cost)."
  type        = bool
  default     = false
}

variable "db_backup_retention_days" {
  description = "Days of automated backups / point-in-time recovery (1-35)."
  type        = number
  default     = 7

  validation {
    condition     = var.db_backup_retention_days >= 1 && var.db_backup_retention_days <= 35
    error_message = "Backups must stay on: 1 to 35 days."
  }
}

variable "db_deletion_protection" {
  description = "Refuse to delete the database (turn off deliberately before a destroy)."
  type        = bool
  default     = true
}

variable "db_name" {
  description = "Name of the application database."
  type        = string
  default     = "adserver"
}

variable "db_username" {
  description = "Master user name of the database (its password is generated and kept in Secrets Manager only)."
  type        = string
  default     = "adserver"
}

# --- Redis ------------------------------------------------------------------------------------------

variable "redis_engine_version" {
  description = "Redis OSS engine version of ElastiCache."
  type        = string
  default     = "7.1"
}

variable "redis_node_type" {
  description = "ElastiCache node type."
  type        = string
  default     = "cache.t4g.micro"
}

variable "redis_num_cache_clusters" {
  description = "Nodes in the replication group (per shard with redis_num_node_groups > 1): a primary and num-1 replicas, spread over the AZs, with automatic failover and Multi-AZ. At least 2: acknowledged beacons wait in Redis until flushed, and the app (REDIS_WAIT_REPLICAS=1) acknowledges a beacon only once a replica holds it. 3 keeps beacons flowing while one replica is replaced (infrastructure/README.md)."
  type        = number
  default     = 2

  validation {
    condition     = var.redis_num_cache_clusters >= 2 && var.redis_num_cache_clusters <= 6 && floor(var.redis_num_cache_clusters) == var.redis_num_cache_clusters
    error_message = "redis_num_cache_clusters must be 2 to 6 (a primary and 1-5 replicas): a single node loses every acknowledged, unflushed beacon when it is replaced."
  }
}

variable "redis_num_node_groups" {
  description = "Shards of the Redis data (ElastiCache cluster mode), each a primary with redis_num_cache_clusters - 1 replicas. 1 (the default): one primary, cluster mode disabled. More: cluster mode enabled, and the app runs with REDIS_CLUSTER=1 and EVENT_SHARDS = redis_event_shards (the redis_cluster and event_shards outputs, which scripts/deploy.sh passes on; docs/scaling.md). Switching an existing stack between the two modes replaces the group (a new id, <name>-sharded): drain the flusher first (infrastructure/README.md)."
  type        = number
  default     = 1

  validation {
    condition     = var.redis_num_node_groups >= 1 && var.redis_num_node_groups <= 30 && floor(var.redis_num_node_groups) == var.redis_num_node_groups
    error_message = "redis_num_node_groups must be a whole number from 1 to 30."
  }
}

variable "redis_event_shards" {
  description = "The app's EVENT_SHARDS in cluster mode (redis_num_node_groups > 1): shards of the beacon stream and its keys, each under a hash tag of its own. Keep it a multiple of the node groups (12 spreads evenly over 2, 3, 4, 6 and 12), so that every primary takes as many beacons. Resharding the cluster leaves it alone; changing it moves the event store's keys: stop the serving pods and let the flusher drain the stream first (docs/scaling.md)."
  type        = number
  default     = 12

  validation {
    condition     = var.redis_event_shards >= 1 && var.redis_event_shards <= 1024 && floor(var.redis_event_shards) == var.redis_event_shards
    error_message = "redis_event_shards must be a whole number from 1 to 1024."
  }
}

variable "redis_jobs_node_type" {
  description = "ElastiCache node type of the transcode queue's Redis, made in cluster mode only (rq needs a Redis without cluster mode)."
  type        = string
  default     = "cache.t4g.micro"
}

variable "redis_apply_immediately" {
  description = "Apply Redis modifications (parameter group, node type, engine version) now instead of in the next maintenance window. Set it once (TF_VAR_redis_apply_immediately=true) to move an existing group to the noeviction parameter group."
  type        = bool
  default     = false
}

variable "redis_snapshot_retention_days" {
  description = "Days of daily Redis snapshots (0 disables them)."
  type        = number
  default     = 1
}

# --- Creatives, registry, logs, alarms -----------------------------------------------------------

variable "cloudfront_price_class" {
  description = "CloudFront price class (PriceClass_100 = North America and Europe edges only)."
  type        = string
  default     = "PriceClass_100"
}

variable "creative_noncurrent_version_days" {
  description = "Days a replaced or deleted creative version is kept (bucket versioning) before it expires."
  type        = number
  default     = 30
}

variable "event_export_retention_days" {
  description = "Days the Parquet files of raw events are kept in the events bucket (Athena's history)."
  type        = number
  default     = 400

  validation {
    condition     = var.event_export_retention_days >= 31
    error_message = "event_export_retention_days must be at least 31: the files outlive the raw events in PostgreSQL (30 days)."
  }
}

variable "athena_bytes_scanned_cutoff" {
  description = "Bytes one Athena query of the events workgroup may scan before it is cancelled (cost bound)."
  type        = number
  default     = 107374182400 # 100 GiB
}

variable "k8s_flusher_service_account" {
  description = "Service account of the flusher (must match k8s/base/serviceaccounts.yaml); the only one allowed to assume the flusher role."
  type        = string
  default     = "adserver-flusher"
}

variable "ecr_keep_images" {
  description = "Number of most recent images kept in ECR (older ones expire; keep enough to roll back)."
  type        = number
  default     = 30
}

variable "log_retention_days" {
  description = "Retention of the CloudWatch log groups (application, data plane, control plane, flow logs)."
  type        = number
  default     = 30
}

variable "alarm_email" {
  description = "E-mail subscribed to the alarm topic (empty: no subscription, alarms only visible in the console)."
  type        = string
  default     = ""
}

variable "alb_5xx_rate_threshold_percent" {
  description = "Alarm when 5xx responses (ALB + targets) exceed this percentage of requests for 3 of 5 minutes."
  type        = number
  default     = 1
}

variable "alb_p99_latency_threshold_seconds" {
  description = "Alarm when the ALB target response time p99 exceeds this for 3 of 5 minutes (VAST players time out around 1-2 s)."
  type        = number
  default     = 0.5
}

variable "rds_cpu_threshold_percent" {
  description = "Alarm when the database CPU stays above this for 15 minutes."
  type        = number
  default     = 80
}

variable "redis_memory_threshold_percent" {
  description = "Alarm when a Redis node's DatabaseMemoryUsagePercentage (of maxmemory) exceeds this in 3 of 5 minutes. At 100 % a noeviction Redis refuses writes."
  type        = number
  default     = 80

  validation {
    condition     = var.redis_memory_threshold_percent > 0 && var.redis_memory_threshold_percent < 100
    error_message = "redis_memory_threshold_percent must be between 0 and 100 (exclusive)."
  }
}

variable "redis_replication_lag_threshold_seconds" {
  description = "Alarm when a Redis replica lags the primary by more than this in 3 of 5 minutes (the app waits at most 1 s for a replica before writing a beacon to PostgreSQL directly)."
  type        = number
  default     = 0.5
}
