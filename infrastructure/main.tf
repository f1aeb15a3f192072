# Shared names, tags and look-ups used by every other file.

locals {
  # One stack per workspace: `adserver-mvp`, later `adserver-prod`, side by side in one account.
  name = "${var.project}-${terraform.workspace}"

  azs      = [for s in var.availability_zone_suffixes : "${var.aws_region}${s}"]
  az_count = length(local.azs)

  tags = merge(
    {
      Project     = var.project
      Environment = terraform.workspace
      ManagedBy   = "terraform"
    },
    var.tags,
  )

  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
}

# Only checks that the pinned zones exist in the region (see the precondition in network.tf).
data "aws_availability_zones" "pinned" {
  filter {
    name   = "zone-name"
    values = local.azs
  }
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}
