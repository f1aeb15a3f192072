# Redis keeps what the app acknowledged (`terraform test`, offline, plan only): every beacon with a 2xx
# sits in Redis (stream entry + dedupe hash) until the flusher has stored it in PostgreSQL, so the
# stack must give the app a Redis that never evicts, that survives the loss of a node (a replica the
# app WAITs for: REDIS_WAIT_REPLICAS=1 in k8s/base, checked by tests/infra), and alarms that say when
# either is about to break. Run by scripts/check-infra.sh.
#
# Plan mode: only the data sources need mocks; the alarm topic's ARN is given at plan time so that the
# alarms' actions can be compared with it.

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

  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }

  mock_data "aws_secretsmanager_random_password" {
    defaults = {
      random_password = "mockmockmockmockmockmockmockmockmockmockmockmockmockmockmockmock"
    }
  }

  mock_data "aws_lbs" {
    defaults = {
      arns = []
    }
  }
}

mock_provider "aws" {
  alias = "us_east_1"
}

override_resource {
  target          = aws_sns_topic.alarms
  override_during = plan
  values = {
    arn = "arn:aws:sns:us-east-1:123456789012:adserver-default-alarms"
  }
}

variables {
  route53_zone_name                    = "example.com"
  app_domain_name                      = "ads.example.com"
  cdn_domain_name                      = "cdn.example.com"
  cluster_endpoint_public_access_cidrs = ["203.0.113.0/24"]
}

run "redis_never_evicts" {
  command = plan

  assert {
    condition     = aws_elasticache_parameter_group.redis.family == "redis7"
    error_message = "The parameter group must be of the engine's family (redis7)."
  }

  assert {
    condition     = [for p in aws_elasticache_parameter_group.redis.parameter : p.value if p.name == "maxmemory-policy"] == ["noeviction"]
    error_message = "maxmemory-policy must be noeviction: any other policy evicts dedupe hashes, SDK answers or the beacon stream itself."
  }

  assert {
    condition     = aws_elasticache_replication_group.main.parameter_group_name == aws_elasticache_parameter_group.redis.name
    error_message = "The replication group must use the stack's noeviction parameter group."
  }

  assert {
    condition     = !startswith(aws_elasticache_replication_group.main.parameter_group_name, "default.")
    error_message = "ElastiCache's default parameter groups evict (volatile-lru)."
  }
}

run "redis_has_a_replica_with_failover" {
  command = plan

  assert {
    condition     = aws_elasticache_replication_group.main.num_cache_clusters >= 2
    error_message = "Redis needs a primary and at least one replica: a single node loses every acknowledged, unflushed beacon when it is replaced."
  }

  assert {
    condition     = aws_elasticache_replication_group.main.num_cache_clusters == 2
    error_message = "The MVP runs a primary and one replica."
  }

  assert {
    condition     = aws_elasticache_replication_group.main.automatic_failover_enabled && aws_elasticache_replication_group.main.multi_az_enabled
    error_message = "A failed primary must be replaced by its replica automatically (automatic failover, Multi-AZ)."
  }

  assert {
    condition = (
      length(aws_elasticache_replication_group.main.preferred_cache_cluster_azs) == aws_elasticache_replication_group.main.num_cache_clusters
      && length(toset(aws_elasticache_replication_group.main.preferred_cache_cluster_azs)) == 2
    )
    error_message = "The primary and its replica must be in different availability zones."
  }
}

run "redis_alarms_reach_the_alarm_topic" {
  command = plan

  assert {
    condition     = toset(keys(aws_cloudwatch_metric_alarm.redis_memory)) == toset(["adserver-default-001", "adserver-default-002"])
    error_message = "Every Redis node needs a memory alarm."
  }

  assert {
    condition = alltrue([
      for id, alarm in aws_cloudwatch_metric_alarm.redis_memory :
      alarm.namespace == "AWS/ElastiCache" && alarm.metric_name == "DatabaseMemoryUsagePercentage"
      && alarm.dimensions == tomap({ CacheClusterId = id }) && alarm.threshold == 80
      && alarm.comparison_operator == "GreaterThanThreshold"
      && startswith(id, "${aws_elasticache_replication_group.main.replication_group_id}-")
    ])
    error_message = "The memory alarms must watch DatabaseMemoryUsagePercentage > 80 % of each node of the replication group."
  }

  assert {
    condition     = toset(keys(aws_cloudwatch_metric_alarm.redis_evictions)) == toset(keys(aws_cloudwatch_metric_alarm.redis_memory))
    error_message = "Every Redis node needs an evictions alarm."
  }

  assert {
    condition = alltrue([
      for id, alarm in aws_cloudwatch_metric_alarm.redis_evictions :
      alarm.namespace == "AWS/ElastiCache" && alarm.metric_name == "Evictions" && alarm.statistic == "Sum"
      && alarm.dimensions == tomap({ CacheClusterId = id }) && alarm.threshold == 0
      && alarm.comparison_operator == "GreaterThanThreshold"
    ])
    error_message = "Any eviction (Evictions > 0) must alarm: with noeviction it means the parameter group drifted."
  }

  assert {
    condition     = toset(keys(aws_cloudwatch_metric_alarm.redis_replication_lag)) == toset(keys(aws_cloudwatch_metric_alarm.redis_memory))
    error_message = "Every Redis node needs a replication lag alarm (roles move on failover)."
  }

  assert {
    condition = alltrue([
      for alarm in concat(
        values(aws_cloudwatch_metric_alarm.redis_memory),
        values(aws_cloudwatch_metric_alarm.redis_evictions),
        values(aws_cloudwatch_metric_alarm.redis_replication_lag),
      ) :
      alarm.alarm_actions == toset([aws_sns_topic.alarms.arn]) && alarm.ok_actions == toset([aws_sns_topic.alarms.arn])
      && alarm.alarm_actions == aws_cloudwatch_metric_alarm.rds_cpu.alarm_actions
    ])
    error_message = "The Redis alarms must notify the stack's alarm topic, like the other alarms."
  }
}

run "three_nodes_are_spread_and_each_watched" {
  command = plan

  variables {
    redis_num_cache_clusters = 3
  }

  assert {
    condition     = aws_elasticache_replication_group.main.preferred_cache_cluster_azs == tolist(["us-east-1a", "us-east-1b", "us-east-1a"])
    error_message = "Nodes must be spread over the availability zones in turn."
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.redis_memory) == 3 && length(aws_cloudwatch_metric_alarm.redis_evictions) == 3
    error_message = "Each of the three nodes needs its memory and evictions alarms."
  }
}

run "a_single_redis_node_is_refused" {
  command = plan

  variables {
    redis_num_cache_clusters = 1
  }

  expect_failures = [var.redis_num_cache_clusters]
}

run "cluster_mode_shards_keep_every_guarantee" {
  command = plan

  variables {
    redis_num_node_groups = 3
  }

  assert {
    condition = (
      aws_elasticache_replication_group.main.cluster_mode == "enabled"
      && aws_elasticache_replication_group.main.num_node_groups == 3
      && aws_elasticache_replication_group.main.replication_group_id == "adserver-default-sharded"
      && aws_elasticache_replication_group.main.replicas_per_node_group == 1
      && aws_elasticache_replication_group.main.automatic_failover_enabled
      && aws_elasticache_replication_group.main.multi_az_enabled
    )
    error_message = "Cluster mode: three shards, each a primary with its replica and automatic failover."
  }

  assert {
    condition = (
      [for p in aws_elasticache_parameter_group.redis.parameter : p.value if p.name == "cluster-enabled"] == ["yes"]
      && [for p in aws_elasticache_parameter_group.redis.parameter : p.value if p.name == "maxmemory-policy"] == ["noeviction"]
      && aws_elasticache_parameter_group.redis.name == "adserver-default-redis7-cluster"
    )
    error_message = "Cluster mode needs a parameter group of its own with cluster-enabled yes, still noeviction."
  }

  assert {
    condition = toset(keys(aws_cloudwatch_metric_alarm.redis_memory)) == toset([
      "adserver-default-sharded-0001-001", "adserver-default-sharded-0001-002",
      "adserver-default-sharded-0002-001", "adserver-default-sharded-0002-002",
      "adserver-default-sharded-0003-001", "adserver-default-sharded-0003-002",
      "adserver-default-jobs-001", "adserver-default-jobs-002",
    ])
    error_message = "Every node of every shard, and of the transcode queue's Redis, needs its alarms (CacheClusterId <group>-<shard>-<node>)."
  }

  assert {
    condition     = output.redis_cluster == 1 && output.event_shards == 12
    error_message = "The app must run with REDIS_CLUSTER=1 and the event shards set apart from the node groups (a reshard must not move the keys)."
  }

  assert {
    condition = (
      length(aws_elasticache_replication_group.jobs) == 1
      && aws_elasticache_replication_group.jobs[0].num_cache_clusters == 2
      && aws_elasticache_replication_group.jobs[0].automatic_failover_enabled
      && aws_elasticache_replication_group.jobs[0].transit_encryption_enabled
      && aws_elasticache_replication_group.jobs[0].at_rest_encryption_enabled
      && aws_elasticache_replication_group.jobs[0].parameter_group_name == aws_elasticache_parameter_group.jobs[0].name
      && [for p in aws_elasticache_parameter_group.jobs[0].parameter : p.value if p.name == "maxmemory-policy"] == ["noeviction"]
      && nonsensitive(aws_elasticache_replication_group.jobs[0].auth_token == jsondecode(aws_secretsmanager_secret_version.redis.secret_string).auth_token)
    )
    error_message = "rq cannot run on a cluster: the transcode queue needs a Redis of its own, replicated, encrypted, never evicting, with the AUTH token the secret holds."
  }
}

run "one_shard_keeps_cluster_mode_off" {
  command = plan

  assert {
    condition = (
      aws_elasticache_replication_group.main.cluster_mode == "disabled"
      && aws_elasticache_replication_group.main.replication_group_id == "adserver-default"
      && output.redis_cluster == 0 && output.event_shards == 1
      && length([for p in aws_elasticache_parameter_group.redis.parameter : p if p.name == "cluster-enabled"]) == 0
      && length(aws_elasticache_replication_group.jobs) == 0 && output.jobs_redis_host == ""
    )
    error_message = "Without shards the group stays in cluster mode disabled, and the app on one Redis."
  }
}
