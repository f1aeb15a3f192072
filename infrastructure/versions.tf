# Terraform and provider requirements, provider configuration and the state backend.
#
# Only hashicorp/aws is used, on purpose: every resource is a plain provider resource so the
# module initialises from an offline provider mirror (CI) and has no registry-module supply chain.

terraform {
  # 1.7+: `terraform test` with mock providers and override_data; 1.11 is what CI runs.
  required_version = ">= 1.11.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }

  # Partial configuration: bucket, key, region and locking are passed at init time, e.g.
  #   terraform init -backend-config=backend.hcl
  # (see README.md, "State and workspaces"). Each workspace (`mvp`, later `prod`) gets its own
  # state object under the same key prefix.
  backend "s3" {}
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = local.tags
  }
}

# CloudFront only accepts ACM certificates from us-east-1, whatever region the rest lives in.
provider "aws" {
  alias  = "us_east_1"
  region = "us-east-1"

  default_tags {
    tags = local.tags
  }
}
