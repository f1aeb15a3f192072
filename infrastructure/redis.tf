# Redis 7 on ElastiCache: counters, the beacon stream, catalog version and rate limits.
# Private subnets, TLS in transit (REDIS_URL is rediss://), encrypted at rest with the stack key,
# AUTH token required.
#
# Redis holds every acknowledged beacon (stream entry + dedupe hash) until the flusher has moved it
# into PostgreSQL, so it must keep what it acknowledged (README.md, "Redis keeps what it
# acknowledged"):
# - never evict: our own parameter group with maxmemory-policy noeviction (the default group's
#   volatile-lru evicts dedupe hashes and SDK answers, so replayed beacons count again; allkeys-*
#   would evict the stream itself). A full Redis refuses writes instead, and the app writes those
#   beacons straight to PostgreSQL;
# - survive the loss of a node: at least one replica in another AZ with automatic failover, and
#   REDIS_WAIT_REPLICAS=1 in k8s/base (WAIT: a beacon is on a replica before its 2xx). ElastiCache
#   offers no append-only file for Redis 7, so a replica is the only way.
# The alarms on memory, evictions and replication lag are in monitoring.tf.
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

locals {
  # redis7 for engine 7.x: the parameter group's family must match the engine's major version.
  redis_family = "redis${split(".", var.redis_engine_version)[0]}"
  # More than one shard: ElastiCache cluster mode (the app's REDIS_CLUSTER=1, outputs.tf). A group cannot
  # move between the modes in place (AWS asks for an online migration through "compatible"), so each mode
  # has its own group id: switching replaces the group (drain first: infrastructure/README.md).
  redis_cluster_mode = var.redis_num_node_groups > 1
  redis_group_id     = local.redis_cluster_mode ? "${local.name}-sharded" : local.name
  # Member clusters are named <group>-001, -002, ... without cluster mode, <group>-0001-001 (shard,
  # node) with it; they are the CacheClusterId dimension of the AWS/ElastiCache metrics (alarms in
  # monitoring.tf).
  redis_member_clusters = local.redis_cluster_mode ? flatten([
    for shard in range(1, var.redis_num_node_groups + 1) : [
      for node in range(1, var.redis_num_cache_clusters + 1) : format("%s-%04d-%03d", local.redis_group_id, shard, node)
    ]
  ]) : [for i in range(1, var.redis_num_cache_clusters + 1) : format("%s-%03d", local.redis_group_id, i)]
  # Every node the alarms watch (monitoring.tf), with what its alarms say: the transcode queue's too, in
  # cluster mode.
  redis_alarmed_nodes = merge(
    { for node in local.redis_member_clusters : node => {
      parameter_group = aws_elasticache_parameter_group.redis.name
      full            = "Check the flusher (stream length, adserver_events_pending) before resizing."
      evicting        = "beacons are being lost or replays counted again"
      lagging         = "beacons wait for it (REDIS_WAIT_REPLICAS) and slow down or fall back to PostgreSQL."
    } },
    { for node in(local.redis_cluster_mode ? [for i in range(1, 3) : format("%s-jobs-%03d", local.name, i)] : []) : node => {
      parameter_group = one(aws_elasticache_parameter_group.jobs[*].name)
      full            = "Check the transcoder (jobs queued, worker pods running) before resizing (redis_jobs_node_type)."
      evicting        = "transcode jobs are being lost"
      lagging         = "a failover now would lose the latest transcode jobs."
    } },
  )
}

resource "aws_elasticache_parameter_group" "redis" {
  # cluster-enabled cannot change on a group in use: each mode has a group of its own.
  name        = "${local.name}-${local.redis_family}${local.redis_cluster_mode ? "-cluster" : ""}"
  family      = local.redis_family
  description = "${local.name}: never evict (acknowledged beacons live in Redis until flushed)"

  # Writes fail with OOM when memory is full, instead of evicting the beacon stream, dedupe hashes
  # or SDK answers. A dynamic parameter: no reboot.
  parameter {
    name  = "maxmemory-policy"
    value = "noeviction"
  }

  dynamic "parameter" {
    for_each = local.redis_cluster_mode ? ["yes"] : []
    content {
      name  = "cluster-enabled"
      value = parameter.value
    }
  }

  # A new engine major version means a new family, hence a new name: the new group is created and
  # swapped in before the old one is deleted. (Keep the description stable: changing it replaces
  # the group under the same name, which fails.)
  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_elasticache_replication_group" "main" {
  replication_group_id = local.redis_group_id
  description          = "${local.name} counters, beacon stream and rate limits"

  engine               = "redis"
  engine_version       = var.redis_engine_version
  node_type            = var.redis_node_type
  parameter_group_name = aws_elasticache_parameter_group.redis.name
  port                 = 6379

  # One primary, or (cluster mode) redis_num_node_groups of them, each holding a share of the hash
  # slots: the event store's keys are spread over them by their hash tags (app/tracking/shards.py).
  cluster_mode            = local.redis_cluster_mode ? "enabled" : "disabled"
  num_cache_clusters      = local.redis_cluster_mode ? null : var.redis_num_cache_clusters
  num_node_groups         = local.redis_cluster_mode ? var.redis_num_node_groups : null
  replicas_per_node_group = local.redis_cluster_mode ? var.redis_num_cache_clusters - 1 : null

  # A primary and at least one replica (var.redis_num_cache_clusters >= 2, validated), spread over
  # the AZs: the app WAITs for a replica before acknowledging a beacon, and a failed primary is
  # replaced by that replica within a minute or so, with everything it acknowledged.
  # (Placement only applies when a node is created; an existing node is never moved. In cluster
  # mode ElastiCache spreads each shard's nodes over the subnet group's AZs itself.)
  automatic_failover_enabled  = true
  multi_az_enabled            = true
  preferred_cache_cluster_azs = local.redis_cluster_mode ? null : [for i in range(var.redis_num_cache_clusters) : local.azs[i % local.az_count]]

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
  # Modifications wait for the maintenance window, except when an operator asks otherwise (e.g.
  # the switch of an existing group to the noeviction parameter group: infrastructure/README.md).
  # Adding replicas is always immediate.
  apply_immediately = var.redis_apply_immediately

  lifecycle {
    ignore_changes = [auth_token]
  }
}

# The transcode queue (rq) in cluster mode: rq needs a Redis without cluster mode (its commands span
# keys of many slots), so the admin side and the transcoder get a small group of their own
# (JOBS_REDIS_URL). Same network, encryption and AUTH token; noeviction too, as a lost job would leave
# its creative queued for good.
resource "aws_elasticache_parameter_group" "jobs" {
  count = local.redis_cluster_mode ? 1 : 0

  name        = "${local.name}-jobs-${local.redis_family}"
  family      = local.redis_family
  description = "${local.name} transcode queue: never evict"

  parameter {
    name  = "maxmemory-policy"
    value = "noeviction"
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_elasticache_replication_group" "jobs" {
  count = local.redis_cluster_mode ? 1 : 0

  replication_group_id = "${local.name}-jobs"
  description          = "${local.name} transcode queue (rq)"

  engine                      = "redis"
  engine_version              = var.redis_engine_version
  node_type                   = var.redis_jobs_node_type
  num_cache_clusters          = 2
  parameter_group_name        = aws_elasticache_parameter_group.jobs[0].name
  port                        = 6379
  automatic_failover_enabled  = true
  multi_az_enabled            = true
  preferred_cache_cluster_azs = [for i in range(2) : local.azs[i % local.az_count]]

  subnet_group_name  = aws_elasticache_subnet_group.main.name
  security_group_ids = [aws_security_group.redis.id]

  transit_encryption_enabled = true
  transit_encryption_mode    = "required"
  at_rest_encryption_enabled = true
  kms_key_id                 = aws_kms_key.main.arn
  # The token the secret holds (the data source draws a new one at every plan: the main group keeps the
  # first through ignore_changes, and this group may be made long after it).
  auth_token = jsondecode(aws_secretsmanager_secret_version.redis.secret_string).auth_token

  snapshot_retention_limit   = var.redis_snapshot_retention_days
  snapshot_window            = "02:00-03:00"
  maintenance_window         = "sun:05:30-sun:06:30"
  auto_minor_version_upgrade = true
  apply_immediately          = var.redis_apply_immediately

  lifecycle {
    ignore_changes = [auth_token]
  }
}
