# TLS certificates (ACM, DNS-validated) and the public records in an existing Route53 zone.

data "aws_route53_zone" "main" {
  name         = var.route53_zone_name
  private_zone = false
}

# --- ads.example.com: the ALB created by the AWS Load Balancer Controller ------------------------

resource "aws_acm_certificate" "app" {
  domain_name       = var.app_domain_name
  validation_method = "DNS"

  lifecycle {
    create_before_destroy = true # the Ingress keeps serving with the old one during replacement
  }
}

# --- cdn.example.com: CloudFront (certificate must live in us-east-1) ----------------------------

resource "aws_acm_certificate" "cdn" {
  provider = aws.us_east_1

  domain_name       = var.cdn_domain_name
  validation_method = "DNS"

  lifecycle {
    create_before_destroy = true
  }
}

locals {
  # One name per certificate (no SANs), so one validation record each, under static keys
  # (for_each keys must be known before the certificates exist).
  certificate_validations = {
    app = one(aws_acm_certificate.app.domain_validation_options)
    cdn = one(aws_acm_certificate.cdn.domain_validation_options)
  }
}

resource "aws_route53_record" "certificate_validation" {
  for_each = local.certificate_validations

  zone_id         = data.aws_route53_zone.main.zone_id
  name            = each.value.resource_record_name
  type            = each.value.resource_record_type
  records         = [each.value.resource_record_value]
  ttl             = 300
  allow_overwrite = true
}

resource "aws_acm_certificate_validation" "app" {
  certificate_arn         = aws_acm_certificate.app.arn
  validation_record_fqdns = [aws_route53_record.certificate_validation["app"].fqdn]
}

resource "aws_acm_certificate_validation" "cdn" {
  provider = aws.us_east_1

  certificate_arn         = aws_acm_certificate.cdn.arn
  validation_record_fqdns = [aws_route53_record.certificate_validation["cdn"].fqdn]
}

resource "aws_route53_record" "cdn" {
  for_each = toset(["A", "AAAA"])

  zone_id = data.aws_route53_zone.main.zone_id
  name    = var.cdn_domain_name
  type    = each.value

  alias {
    name                   = aws_cloudfront_distribution.creatives.domain_name
    zone_id                = aws_cloudfront_distribution.creatives.hosted_zone_id
    evaluate_target_health = false
  }
}

# --- The ALB ---------------------------------------------------------------------------------------
# The ALB does not exist until the Ingress is applied, and the Load Balancer Controller (not
# Terraform) owns it. It is found by the tags the controller puts on it; until then the record
# and the ALB alarms (monitoring.tf) are simply not created. scripts/deploy.sh runs
# `terraform apply` a second time once the Ingress has an address, which adds them.

data "aws_lbs" "app" {
  tags = {
    "elbv2.k8s.aws/cluster" = local.name
    "ingress.k8s.aws/stack" = var.alb_ingress_group
  }
}

locals {
  alb_arn = try(sort(tolist(data.aws_lbs.app.arns))[0], null)
}

data "aws_lb" "app" {
  count = local.alb_arn == null ? 0 : 1
  arn   = local.alb_arn
}

# A only: the ALB is IPv4 (the Ingress does not ask for dualstack).
resource "aws_route53_record" "app" {
  count = local.alb_arn == null ? 0 : 1

  zone_id = data.aws_route53_zone.main.zone_id
  name    = var.app_domain_name
  type    = "A"

  alias {
    name                   = data.aws_lb.app[0].dns_name
    zone_id                = data.aws_lb.app[0].zone_id
    evaluate_target_health = true
  }
}
