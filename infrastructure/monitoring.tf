# Logs and alarms.
#
# Application logs: the app writes JSON lines to stdout; Fluent Bit from the
# amazon-cloudwatch-observability add-on (eks.tf) ships them to
# /aws/containerinsights/<cluster>/application. The add-on would create these groups itself with
# "never expire"; creating them first gives them a retention and the stack key.
# Metrics: pods carry prometheus.io/* annotations for any Prometheus-compatible scraper; the
# alarms below use the metrics AWS publishes anyway (ALB, RDS, ElastiCache), which need no extra
# agent. What each alarm means and what to do when it fires: infrastructure/README.md.

resource "aws_cloudwatch_log_group" "container_insights" {
  #checkov:skip=CKV_AWS_338:Logs carry client IP addresses (personal data); 30 days (var.log_retention_days) is enough to investigate incidents, a year would be a privacy liability
  for_each = toset(["application", "dataplane", "host", "performance"])

  name              = "/aws/containerinsights/${local.name}/${each.value}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_sns_topic" "alarms" {
  name              = "${local.name}-alarms"
  kms_master_key_id = aws_kms_key.main.arn
}

resource "aws_sns_topic_subscription" "alarm_email" {
  count = var.alarm_email == "" ? 0 : 1

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email" # the recipient confirms the subscription from the e-mail AWS sends
  endpoint  = var.alarm_email
}

locals {
  alarm_actions = [aws_sns_topic.alarms.arn]
  # "app/k8s-adserver-.../0123abcd" — the LoadBalancer dimension of AWS/ApplicationELB metrics.
  alb_dimension = local.alb_arn == null ? null : regex("loadbalancer/(.+)$", local.alb_arn)[0]
}

resource "aws_cloudwatch_metric_alarm" "rds_cpu" {
  alarm_name          = "${local.name}-rds-cpu"
  alarm_description   = "Database CPU above ${var.rds_cpu_threshold_percent}% for 15 minutes: slow queries or an undersized instance."
  namespace           = "AWS/RDS"
  metric_name         = "CPUUtilization"
  dimensions          = { DBInstanceIdentifier = aws_db_instance.main.identifier }
  statistic           = "Average"
  period              = 300
  evaluation_periods  = 3
  threshold           = var.rds_cpu_threshold_percent
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "missing"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# --- Redis: it holds every acknowledged beacon until the flusher has stored it -------------------
# One alarm per node and metric (CacheClusterId <group>-001, -002, ...: redis.tf): roles move on
# failover, so every node is watched for every metric.

# noeviction: at 100 % of maxmemory Redis refuses writes (beacons then go straight to PostgreSQL,
# SDK requests fail). Usually the flusher is behind and the stream grows.
resource "aws_cloudwatch_metric_alarm" "redis_memory" {
  for_each = local.redis_alarmed_nodes

  alarm_name          = "${each.key}-memory"
  alarm_description   = "Redis node ${each.key} uses more than ${var.redis_memory_threshold_percent}% of maxmemory in 3 of 5 minutes; at 100% it refuses writes (noeviction). ${each.value.full}"
  namespace           = "AWS/ElastiCache"
  metric_name         = "DatabaseMemoryUsagePercentage"
  dimensions          = { CacheClusterId = each.key }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  threshold           = var.redis_memory_threshold_percent
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "missing"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# With noeviction, Redis never evicts: any eviction means the parameter group drifted (someone
# changed maxmemory-policy or the group) and dedupe hashes or the stream itself are being dropped.
resource "aws_cloudwatch_metric_alarm" "redis_evictions" {
  for_each = local.redis_alarmed_nodes

  alarm_name          = "${each.key}-evictions"
  alarm_description   = "Redis node ${each.key} evicted keys: maxmemory-policy is no longer noeviction, so ${each.value.evicting}. Restore the ${each.value.parameter_group} parameter group now."
  namespace           = "AWS/ElastiCache"
  metric_name         = "Evictions"
  dimensions          = { CacheClusterId = each.key }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# Only replicas report ReplicationLag (the primary's missing data is not a breach). The app WAITs up
# to 1 s for a replica before acknowledging a beacon: a lagging replica slows every beacon, and past
# 1 s they are written to PostgreSQL directly.
resource "aws_cloudwatch_metric_alarm" "redis_replication_lag" {
  for_each = local.redis_alarmed_nodes

  alarm_name          = "${each.key}-replication-lag"
  alarm_description   = "Redis replica ${each.key} lags the primary by more than ${var.redis_replication_lag_threshold_seconds}s in 3 of 5 minutes: ${each.value.lagging}"
  namespace           = "AWS/ElastiCache"
  metric_name         = "ReplicationLag"
  dimensions          = { CacheClusterId = each.key }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  threshold           = var.redis_replication_lag_threshold_seconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# 5xx responses (from the ALB itself, e.g. no healthy target, and from the app) as a percentage of
# all requests; quiet minutes count as 0 % rather than as missing data.
resource "aws_cloudwatch_metric_alarm" "alb_5xx_rate" {
  count = local.alb_arn == null ? 0 : 1

  alarm_name          = "${local.name}-alb-5xx-rate"
  alarm_description   = "More than ${var.alb_5xx_rate_threshold_percent}% of requests answered 5xx in 3 of 5 minutes."
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  threshold           = var.alb_5xx_rate_threshold_percent
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  metric_query {
    id          = "rate"
    expression  = "IF(requests > 0, 100 * (FILL(elb5xx, 0) + FILL(target5xx, 0)) / requests, 0)"
    label       = "5xx %"
    return_data = true
  }

  metric_query {
    id = "requests"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "RequestCount"
      dimensions  = { LoadBalancer = local.alb_dimension }
      stat        = "Sum"
      period      = 60
    }
  }

  metric_query {
    id = "elb5xx"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_ELB_5XX_Count"
      dimensions  = { LoadBalancer = local.alb_dimension }
      stat        = "Sum"
      period      = 60
    }
  }

  metric_query {
    id = "target5xx"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_Target_5XX_Count"
      dimensions  = { LoadBalancer = local.alb_dimension }
      stat        = "Sum"
      period      = 60
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "alb_p99_latency" {
  count = local.alb_arn == null ? 0 : 1

  alarm_name          = "${local.name}-alb-p99-latency"
  alarm_description   = "p99 target response time above ${var.alb_p99_latency_threshold_seconds}s in 3 of 5 minutes: players will start timing out."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "TargetResponseTime"
  dimensions          = { LoadBalancer = local.alb_dimension }
  extended_statistic  = "p99"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  threshold           = var.alb_p99_latency_threshold_seconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}
