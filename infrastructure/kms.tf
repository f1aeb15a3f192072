# One customer-managed key (1 USD/month) for everything that can use one without extra plumbing:
# Kubernetes Secrets in etcd, RDS storage, ElastiCache at rest, Secrets Manager, ECR, CloudWatch
# log groups and the alarm topic. The creatives bucket stays on SSE-S3: CloudFront's origin access
# control could only read KMS-encrypted objects through a key policy bound to the distribution,
# and every media fetch that misses the cache would become a billed KMS request.

resource "aws_kms_key" "main" {
  description             = "${local.name}: EKS secrets, RDS, ElastiCache, Secrets Manager, ECR, logs"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json
}

resource "aws_kms_alias" "main" {
  name          = "alias/${local.name}"
  target_key_id = aws_kms_key.main.key_id
}

data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_109:Key policy: "*" means this key only; the account root statement is the standard delegation to IAM policies
  #checkov:skip=CKV_AWS_111:Key policy: "*" means this key only; service statements are limited by SourceAccount / encryption-context conditions
  #checkov:skip=CKV_AWS_356:Key policy: a key policy can only name its own key, which is what "*" means there
  # The account (its IAM policies) administers and uses the key: the EKS cluster role, RDS,
  # ElastiCache and Secrets Manager act on behalf of IAM principals that hold kms permissions.
  statement {
    sid       = "AccountAdministersKey"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  # CloudWatch Logs encrypts the log groups of this account and region only.
  statement {
    sid       = "CloudWatchLogsUse"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${var.aws_region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${var.aws_region}:${local.account_id}:log-group:*"]
    }
  }

  # CloudWatch alarms publish to the encrypted SNS topic.
  statement {
    sid       = "CloudWatchAlarmsPublish"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}
