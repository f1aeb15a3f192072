# EKS control plane, one managed node group and the add-ons the deployment relies on.

# Created before the cluster so that retention and encryption apply from the first log line
# (EKS would otherwise create it with "never expire").
resource "aws_cloudwatch_log_group" "eks" {
  #checkov:skip=CKV_AWS_338:Logs carry client IP addresses (personal data); 30 days (var.log_retention_days) is enough to investigate incidents, a year would be a privacy liability
  name              = "/aws/eks/${local.name}/cluster"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_eks_cluster" "main" {
  #checkov:skip=CKV_AWS_39:Operators and CI run kubectl from outside the VPC (no VPN/bastion in the MVP); the public endpoint only accepts var.cluster_endpoint_public_access_cidrs
  #checkov:skip=CKV_AWS_38:public_access_cidrs comes from a variable whose validation refuses 0.0.0.0/0 (checkov cannot evaluate it; covered by tests/security.tftest.hcl)
  #checkov:skip=CKV_AWS_37:api, audit and authenticator are logged; controllerManager and scheduler logs are verbose, billed per GB and not actionable on a managed control plane
  name     = local.name
  version  = var.cluster_version
  role_arn = aws_iam_role.cluster.arn

  vpc_config {
    subnet_ids              = aws_subnet.private[*].id
    endpoint_private_access = true # nodes talk to the API inside the VPC
    endpoint_public_access  = true # operators and CI run kubectl from outside, restricted by CIDR
    public_access_cidrs     = var.cluster_endpoint_public_access_cidrs
  }

  # Kubernetes Secrets (DATABASE_URL, REDIS_URL, SECRET_KEY) are envelope-encrypted in etcd.
  encryption_config {
    resources = ["secrets"]
    provider {
      key_arn = aws_kms_key.main.arn
    }
  }

  # Security-relevant control-plane logs; controllerManager/scheduler are noisy and of little use
  # on a managed control plane.
  enabled_cluster_log_types = ["api", "audit", "authenticator"]

  access_config {
    authentication_mode                         = "API" # access entries, no aws-auth ConfigMap
    bootstrap_cluster_creator_admin_permissions = true
  }

  # Never slip into extended support silently: it costs 6x the standard control-plane price.
  upgrade_policy {
    support_type = "STANDARD"
  }

  depends_on = [
    aws_cloudwatch_log_group.eks,
    aws_iam_role_policy_attachment.cluster,
    aws_iam_role_policy.cluster_kms,
  ]
}

# Extra administrators (the identity that created the cluster is one already).
resource "aws_eks_access_entry" "admins" {
  for_each = toset(var.cluster_admin_principal_arns)

  cluster_name  = aws_eks_cluster.main.name
  principal_arn = each.value
}

resource "aws_eks_access_policy_association" "admins" {
  for_each = toset(var.cluster_admin_principal_arns)

  cluster_name  = aws_eks_cluster.main.name
  principal_arn = each.value
  policy_arn    = "arn:${local.partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"

  access_scope {
    type = "cluster"
  }

  depends_on = [aws_eks_access_entry.admins]
}

# --- Worker nodes ------------------------------------------------------------------------------

resource "aws_launch_template" "nodes" {
  name_prefix = "${local.name}-nodes-"
  description = "Encrypted gp3 root volume and IMDSv2 limited to the node itself"

  block_device_mappings {
    device_name = "/dev/xvda"
    ebs {
      volume_size           = var.node_disk_size_gb
      volume_type           = "gp3"
      encrypted             = true # AWS-managed EBS key: a CMK would need an Auto Scaling key grant
      delete_on_termination = true
    }
  }

  # IMDSv2 only, and a hop limit of 1 so that pods cannot borrow the node role: workloads get
  # AWS credentials through IRSA only (app, load balancer controller, CloudWatch agent).
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  tag_specifications {
    resource_type = "instance"
    tags          = merge(local.tags, { Name = "${local.name}-node" })
  }

  tag_specifications {
    resource_type = "volume"
    tags          = merge(local.tags, { Name = "${local.name}-node" })
  }
}

resource "aws_eks_node_group" "main" {
  cluster_name    = aws_eks_cluster.main.name
  node_group_name = "${local.name}-default"
  node_role_arn   = aws_iam_role.node.arn
  subnet_ids      = aws_subnet.private[*].id

  ami_type       = "AL2023_x86_64_STANDARD"
  capacity_type  = var.node_capacity_type
  instance_types = var.node_instance_types

  scaling_config {
    desired_size = var.node_desired_size
    min_size     = var.node_min_size
    max_size     = var.node_max_size
  }

  update_config {
    max_unavailable = 1
  }

  launch_template {
    id      = aws_launch_template.nodes.id
    version = aws_launch_template.nodes.latest_version
  }

  lifecycle {
    # A cluster autoscaler or an operator may change the node count; terraform must not undo it.
    ignore_changes = [scaling_config[0].desired_size]

    precondition {
      condition     = var.node_min_size <= var.node_desired_size && var.node_desired_size <= var.node_max_size
      error_message = "node sizes must satisfy min <= desired <= max."
    }
  }

  depends_on = [aws_iam_role_policy_attachment.node]
}

# --- Add-ons -------------------------------------------------------------------------------------
# Versions are left to EKS (the default version for the cluster's Kubernetes version) so that a
# cluster upgrade does not require looking up add-on versions by hand.

resource "aws_eks_addon" "vpc_cni" {
  cluster_name                = aws_eks_cluster.main.name
  addon_name                  = "vpc-cni"
  resolve_conflicts_on_create = "OVERWRITE"
  resolve_conflicts_on_update = "OVERWRITE"

  # Enforce Kubernetes NetworkPolicies (k8s/base/network-policies.yaml) with the CNI's own agent.
  configuration_values = jsonencode({
    enableNetworkPolicy = "true"
  })
}

resource "aws_eks_addon" "kube_proxy" {
  cluster_name                = aws_eks_cluster.main.name
  addon_name                  = "kube-proxy"
  resolve_conflicts_on_create = "OVERWRITE"
  resolve_conflicts_on_update = "OVERWRITE"
}

resource "aws_eks_addon" "coredns" {
  cluster_name                = aws_eks_cluster.main.name
  addon_name                  = "coredns"
  resolve_conflicts_on_create = "OVERWRITE"
  resolve_conflicts_on_update = "OVERWRITE"

  depends_on = [aws_eks_node_group.main] # its pods need nodes to become ACTIVE
}

# Resource metrics for the HorizontalPodAutoscaler (k8s/base/hpa.yaml scales on CPU); EKS does not
# run metrics-server by default. Community add-on, installed and upgraded by EKS like the others.
resource "aws_eks_addon" "metrics_server" {
  cluster_name                = aws_eks_cluster.main.name
  addon_name                  = "metrics-server"
  resolve_conflicts_on_create = "OVERWRITE"
  resolve_conflicts_on_update = "OVERWRITE"

  depends_on = [aws_eks_node_group.main]
}

# Fluent Bit ships every container's stdout (the app's JSON log lines) to
# /aws/containerinsights/<cluster>/application; the CloudWatch agent adds Container Insights.
# Its service account gets AWS credentials through IRSA (nodes block IMDS for pods).
resource "aws_eks_addon" "cloudwatch_observability" {
  cluster_name                = aws_eks_cluster.main.name
  addon_name                  = "amazon-cloudwatch-observability"
  service_account_role_arn    = aws_iam_role.cloudwatch_agent.arn
  resolve_conflicts_on_create = "OVERWRITE"
  resolve_conflicts_on_update = "OVERWRITE"

  depends_on = [
    aws_eks_node_group.main,
    aws_cloudwatch_log_group.container_insights, # retention + KMS before the first log line
  ]
}
