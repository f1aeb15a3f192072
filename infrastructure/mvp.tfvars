# Variables of the `mvp` workspace (scripts/deploy.sh --workspace mvp reads this file).
# Not secret: secrets are generated into Secrets Manager, never written here.
# Replace the example domain and CIDR before the first apply.

aws_region        = "us-east-1"
route53_zone_name = "example.com"     # existing public hosted zone
app_domain_name   = "ads.example.com" # ALB: VAST, beacons, admin
cdn_domain_name   = "cdn.example.com" # CloudFront: creatives

# Who may reach the Kubernetes API (operators' and CI's egress addresses).
cluster_endpoint_public_access_cidrs = ["203.0.113.0/24"]

# Extra cluster admins besides the identity that runs the first apply, e.g.
# ["arn:aws:iam::123456789012:role/platform-admin"].
cluster_admin_principal_arns = []

alarm_email = "" # e.g. "oncall@example.com" (confirm the subscription e-mail)

tags = {
  CostCenter = "adserver-mvp"
}

# MVP sizes are the defaults in variables.tf: 2 x t3.medium (min 2, max 4), db.t4g.micro
# single-AZ, 2 x cache.t4g.micro (primary + replica, the least that keeps acknowledged beacons
# through a node loss; 3 also keeps accepting them while a replica is replaced), one NAT gateway.
