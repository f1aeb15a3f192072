# The application's own secret (SECRET_KEY signs beacon URLs and sessions), generated once (same
# pattern as the database password, see rds.tf).
# scripts/deploy.sh copies it, with DATABASE_URL and REDIS_URL, into the Kubernetes Secret
# `adserver-secrets`; no secret value is ever committed to the repository.

data "aws_secretsmanager_random_password" "app_secret_key" {
  password_length     = 64
  exclude_punctuation = true
}

resource "aws_secretsmanager_secret" "app" {
  #checkov:skip=CKV2_AWS_57:Rotating SECRET_KEY invalidates signed beacon URLs in flight and admin sessions; it is a deliberate manual step (README.md)
  name                    = "${local.name}/app"
  description             = "SECRET_KEY of the ${local.name} ad server ({secret_key})"
  kms_key_id              = aws_kms_key.main.arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "app" {
  secret_id = aws_secretsmanager_secret.app.id
  secret_string = jsonencode({
    secret_key = data.aws_secretsmanager_random_password.app_secret_key.random_password
  })

  lifecycle {
    ignore_changes = [secret_string]
  }
}
