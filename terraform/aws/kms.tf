# One customer-managed key per environment encrypts the stack's data at rest: CloudWatch log groups, the
# data lake, MSK, Redis, RDS (storage, Performance Insights, the master user secret), ECR, SQS and the
# Lambda environment. Services use it through their callers' permissions; CloudWatch Logs, which encrypts
# as itself, and the stack's operators are named in the key policy. The operators' rights come from this
# policy, not from tags: iam-policy.json grants nothing on keys by tag, so tagging another key cannot pull
# it into the stack, and the key is usable right after CreateKey (tag-based grants take up to 5 minutes).
locals {
  kms_key_administrators = length(var.kms_key_administrator_arns) > 0 ? var.kms_key_administrator_arns : [data.aws_caller_identity.current.arn]
}

resource "aws_kms_key" "this" {
  description             = "${local.name}: encryption at rest for the AIPX stack"
  enable_key_rotation     = true
  deletion_window_in_days = var.environment == "production" ? 30 : 7

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministersKeyThroughIam"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "StackOperatorsAdministerAndUseKey"
        Effect    = "Allow"
        Principal = { AWS = local.kms_key_administrators }
        Action = [
          "kms:CancelKeyDeletion",
          "kms:CreateAlias",
          "kms:CreateGrant",
          "kms:Decrypt",
          "kms:DeleteAlias",
          "kms:DescribeKey",
          "kms:DisableKeyRotation",
          "kms:EnableKeyRotation",
          "kms:Encrypt",
          "kms:GenerateDataKey*",
          "kms:Get*",
          "kms:List*",
          "kms:PutKeyPolicy",
          "kms:ReEncrypt*",
          "kms:RetireGrant",
          "kms:RevokeGrant",
          "kms:ScheduleKeyDeletion",
          "kms:TagResource",
          "kms:UntagResource",
          "kms:UpdateAlias",
          "kms:UpdateKeyDescription",
        ]
        Resource = "*"
      },
      {
        Sid       = "CloudWatchLogsEncryptsThisAccountsLogGroups"
        Effect    = "Allow"
        Principal = { Service = "logs.${local.region}.amazonaws.com" }
        Action = [
          "kms:Encrypt*",
          "kms:Decrypt*",
          "kms:ReEncrypt*",
          "kms:GenerateDataKey*",
          "kms:Describe*",
        ]
        Resource = "*"
        Condition = {
          ArnLike = {
            "kms:EncryptionContext:aws:logs:arn" = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"
          }
        }
      },
    ]
  })
}

resource "aws_kms_alias" "this" {
  name          = "alias/${local.name}"
  target_key_id = aws_kms_key.this.key_id
}
