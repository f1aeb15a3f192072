# Creatives: a private, versioned, encrypted S3 bucket that only the app (IRSA, read/write) and
# CloudFront (origin access control, read) can reach. Players fetch media from CloudFront
# (CDN_BASE_URL); the bucket itself is never public.

resource "aws_s3_bucket" "creatives" {
  #checkov:skip=CKV_AWS_18:Server access logs need a second bucket and are best-effort; reads go through CloudFront and writes through the app role (CloudTrail data events if an audit trail is required)
  #checkov:skip=CKV_AWS_144:Cross-region replication doubles storage and transfer cost; versioning protects against overwrites/deletes, and creatives can be re-uploaded from their source
  #checkov:skip=CKV_AWS_145:SSE-S3 on purpose: CloudFront OAC reading SSE-KMS objects needs a key policy bound to the distribution and makes every cache miss a billed KMS request (see kms.tf)
  #checkov:skip=CKV2_AWS_62:No consumer for bucket events: the app records every upload it makes in PostgreSQL
  bucket = "${local.name}-creatives-${local.account_id}" # bucket names are global: add the account

  # Deleting the stack must not delete uploaded creatives by accident.
  force_destroy = false
}

resource "aws_s3_bucket_ownership_controls" "creatives" {
  bucket = aws_s3_bucket.creatives.id
  rule {
    object_ownership = "BucketOwnerEnforced" # ACLs disabled: access is decided by policies only
  }
}

resource "aws_s3_bucket_public_access_block" "creatives" {
  bucket                  = aws_s3_bucket.creatives.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "creatives" {
  bucket = aws_s3_bucket.creatives.id
  versioning_configuration {
    status = "Enabled" # an overwritten or deleted creative can be restored
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "creatives" {
  bucket = aws_s3_bucket.creatives.id
  rule {
    # SSE-S3, not KMS: see kms.tf (CloudFront OAC + per-request KMS cost).
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "creatives" {
  bucket = aws_s3_bucket.creatives.id

  rule {
    id     = "expire-old-versions"
    status = "Enabled"
    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.creative_noncurrent_version_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.creatives]
}

data "aws_iam_policy_document" "creatives" {
  # Only this account's CloudFront distribution may read, through its origin access control.
  statement {
    sid       = "CloudFrontReadsCreatives"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.creatives.arn}/*"]

    principals {
      type        = "Service"
      identifiers = ["cloudfront.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "AWS:SourceArn"
      values   = [aws_cloudfront_distribution.creatives.arn]
    }
  }

  statement {
    sid       = "DenyPlainHttp"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.creatives.arn, "${aws_s3_bucket.creatives.arn}/*"]

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

resource "aws_s3_bucket_policy" "creatives" {
  bucket = aws_s3_bucket.creatives.id
  policy = data.aws_iam_policy_document.creatives.json

  depends_on = [aws_s3_bucket_public_access_block.creatives]
}

# --- CloudFront ------------------------------------------------------------------------------------

resource "aws_cloudfront_origin_access_control" "creatives" {
  name                              = "${local.name}-creatives"
  description                       = "CloudFront signs its requests to the creatives bucket"
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

# AWS-managed policies, looked up by name rather than hard-coded ids.
data "aws_cloudfront_cache_policy" "caching_optimized" {
  name = "Managed-CachingOptimized"
}

# Browser-based CTV players (HTML5/MSE) fetch media cross-origin: CORS plus security headers.
data "aws_cloudfront_response_headers_policy" "cors_and_security" {
  name = "Managed-CORS-and-SecurityHeadersPolicy"
}

resource "aws_cloudfront_distribution" "creatives" {
  #checkov:skip=CKV_AWS_68:Public, static, cacheable media with an S3 origin only (no dynamic origin to protect); a WAF web ACL costs more than the MVP CDN itself
  #checkov:skip=CKV2_AWS_47:No WAF web ACL on this distribution (see CKV_AWS_68), so no Log4j rule group either; the origin is S3
  #checkov:skip=CKV_AWS_86:Standard logs need an ACL-enabled bucket; media delivery is measured by the ad server beacons, and CloudFront metrics cover operations
  #checkov:skip=CKV_AWS_374:Geotargeting is the ad decision (VAST) job; a creative already selected must play wherever the viewer is
  #checkov:skip=CKV_AWS_310:Single S3 origin in one region (99.99% availability); a failover origin needs a replicated bucket (see CKV_AWS_144 on the bucket)
  #checkov:skip=CKV_AWS_305:Media-only distribution: nothing is served at /, creatives are fetched by their full key
  enabled         = true
  comment         = "${local.name} creatives"
  aliases         = [var.cdn_domain_name]
  price_class     = var.cloudfront_price_class
  http_version    = "http2and3"
  is_ipv6_enabled = true

  origin {
    origin_id                = "creatives"
    domain_name              = aws_s3_bucket.creatives.bucket_regional_domain_name
    origin_access_control_id = aws_cloudfront_origin_access_control.creatives.id
  }

  default_cache_behavior {
    target_origin_id           = "creatives"
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD", "OPTIONS"]
    cached_methods             = ["GET", "HEAD", "OPTIONS"]
    compress                   = false # media files are already compressed
    cache_policy_id            = data.aws_cloudfront_cache_policy.caching_optimized.id
    response_headers_policy_id = data.aws_cloudfront_response_headers_policy.cors_and_security.id
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    acm_certificate_arn      = aws_acm_certificate_validation.cdn.certificate_arn
    ssl_support_method       = "sni-only"
    minimum_protocol_version = "TLSv1.2_2021"
  }
}
