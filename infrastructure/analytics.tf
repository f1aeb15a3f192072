# Log-level data: the flusher writes each closed hour of raw events as Parquet to a private bucket
# (EVENT_EXPORT_BUCKET; app/tracking/export.py), events/<table>/dt=YYYY-MM-DD/hour=HH/part-0.parquet.
# Analysts query it with Athena: one Glue table per raw table, partitions found by projection (no
# crawler, no MSCK REPAIR), and a workgroup whose results stay encrypted in the same bucket.

resource "aws_s3_bucket" "events" {
  #checkov:skip=CKV_AWS_18:Server access logs need a second bucket; writes come from the flusher role only, reads through Athena (CloudTrail data events if an audit trail is required)
  #checkov:skip=CKV_AWS_144:Cross-region replication doubles storage cost; the files are derived from PostgreSQL and are written again by `flask export-events --since` while the raw events are kept
  #checkov:skip=CKV2_AWS_62:No consumer for bucket events: Athena finds partitions by projection
  bucket = "${local.name}-events-${local.account_id}"

  force_destroy = false
}

resource "aws_s3_bucket_ownership_controls" "events" {
  bucket = aws_s3_bucket.events.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "events" {
  bucket                  = aws_s3_bucket.events.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "events" {
  bucket = aws_s3_bucket.events.id
  versioning_configuration {
    status = "Enabled" # an hour written again keeps the previous file until the lifecycle expires it
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "events" {
  bucket = aws_s3_bucket.events.id
  rule {
    # The stack key (no CDN reads this bucket, so KMS costs only the flusher's writes and Athena's reads).
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.main.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "events" {
  bucket = aws_s3_bucket.events.id

  rule {
    id     = "log-level-data"
    status = "Enabled"
    filter {
      prefix = "events/"
    }

    transition {
      days          = 30
      storage_class = "STANDARD_IA"
    }

    expiration {
      days = var.event_export_retention_days
    }

    noncurrent_version_expiration {
      noncurrent_days = 7
    }
  }

  rule {
    id     = "athena-results"
    status = "Enabled"
    filter {
      prefix = "athena-results/"
    }

    expiration {
      days = 30
    }

    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }

  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"
    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.events]
}

data "aws_iam_policy_document" "events_bucket" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.events.arn,
      "${aws_s3_bucket.events.arn}/*",
    ]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "events" {
  bucket = aws_s3_bucket.events.id
  policy = data.aws_iam_policy_document.events_bucket.json
}

resource "aws_glue_catalog_database" "events" {
  name        = replace("${local.name}_events", "-", "_")
  description = "Raw events of ${local.name} as Parquet, one table per raw table, partitioned by dt and hour"
}

locals {
  # Columns as app/tracking/export.py writes them (SOURCES); Athena's Hive types.
  event_tables = {
    impressions = [
      ["ad_serving_id", "string"], ["served_on", "date"], ["campaign_id", "string"], ["creative_id", "string"],
      ["cost", "decimal(16,7)"], ["user_agent", "string"], ["occurred_at", "timestamp"],
    ]
    tracking_events = [
      ["ad_serving_id", "string"], ["event", "string"], ["error_code", "string"], ["progress_offset", "string"],
      ["served_on", "date"], ["campaign_id", "string"], ["creative_id", "string"], ["user_agent", "string"],
      ["occurred_at", "timestamp"],
    ]
    ad_requests = [
      ["request_id", "string"], ["ad_serving_id", "string"], ["campaign_id", "string"], ["creative_id", "string"],
      ["duration", "double"], ["user_agent", "string"], ["created_at", "timestamp"],
    ]
  }
}

resource "aws_glue_catalog_table" "events" {
  for_each = local.event_tables

  name          = each.key
  database_name = aws_glue_catalog_database.events.name
  table_type    = "EXTERNAL_TABLE"

  parameters = {
    "classification"              = "parquet"
    "parquet.compression"         = "ZSTD"
    "projection.enabled"          = "true"
    "projection.dt.type"          = "date"
    "projection.dt.format"        = "yyyy-MM-dd"
    "projection.dt.range"         = "2026-01-01,NOW"
    "projection.dt.interval"      = "1"
    "projection.dt.interval.unit" = "DAYS"
    "projection.hour.type"        = "integer"
    "projection.hour.range"       = "0,23"
    "projection.hour.digits"      = "2"
    "storage.location.template"   = "s3://${aws_s3_bucket.events.bucket}/events/${each.key}/dt=$${dt}/hour=$${hour}"
  }

  partition_keys {
    name = "dt"
    type = "string"
  }

  partition_keys {
    name = "hour"
    type = "string"
  }

  storage_descriptor {
    location      = "s3://${aws_s3_bucket.events.bucket}/events/${each.key}/"
    input_format  = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"

    ser_de_info {
      serialization_library = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    }

    dynamic "columns" {
      for_each = each.value
      content {
        name = columns.value[0]
        type = columns.value[1]
      }
    }
  }
}

resource "aws_athena_workgroup" "events" {
  name        = "${local.name}-events"
  description = "Queries over the log-level data of ${local.name}"

  configuration {
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.athena_bytes_scanned_cutoff

    result_configuration {
      output_location = "s3://${aws_s3_bucket.events.bucket}/athena-results/"
      encryption_configuration {
        encryption_option = "SSE_KMS"
        kms_key_arn       = aws_kms_key.main.arn
      }
    }
  }
}
