locals {
  # Built from handler.py by lambda_placeholder/package.py and committed: no provider besides hashicorp/aws.
  lambda_placeholder_package = "${path.module}/lambda_placeholder/handler.zip"
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_115:Reserved concurrency would fail on new accounts (default concurrency quota 10, unreserved minimum 10); set per function once the quota is raised.
  #checkov:skip=CKV_AWS_272:Code signing comes with the services' deployment pipeline (Phase 1); until then the code is Terraform's placeholder.
  for_each = toset(local.lambda_function_names)

  function_name = "${local.name}-${each.key}"
  description   = "AIPX ${each.key} (cold path)"
  role          = aws_iam_role.lambda[each.key].arn
  runtime       = var.lambda_runtime
  handler       = "handler.handler"
  architectures = ["arm64"]
  memory_size   = var.lambda_memory_mb
  timeout       = var.lambda_timeout_seconds
  kms_key_arn   = aws_kms_key.this.arn

  filename         = local.lambda_placeholder_package
  source_code_hash = filebase64sha256(local.lambda_placeholder_package)

  environment {
    variables = merge(local.workload_environment, { SERVICE_NAME = each.key })
  }

  vpc_config {
    subnet_ids         = module.vpc.private_subnets
    security_group_ids = [aws_security_group.lambda[each.key].id]
  }

  tracing_config {
    mode = "Active"
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.lambda_dead_letter.arn
  }

  depends_on = [
    aws_cloudwatch_log_group.this,
    aws_iam_role_policy.lambda_runtime,
    aws_iam_role_policy_attachment.lambda_eni_management,
  ]

  lifecycle {
    # After the first apply each service's pipeline deploys its code; Terraform owns the configuration.
    ignore_changes = [filename, source_code_hash]
  }
}

# Failed asynchronous invocations of every function.
resource "aws_sqs_queue" "lambda_dead_letter" {
  name                      = "${local.name}-lambda-dead-letter"
  kms_master_key_id         = aws_kms_key.this.arn
  message_retention_seconds = 1209600
}

################################################################################
# IAM: one role per function
################################################################################

data "aws_iam_policy_document" "lambda_assume_role" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "lambda" {
  for_each = toset(local.lambda_function_names)

  name                 = "${local.name}-${each.key}-lambda"
  assume_role_policy   = data.aws_iam_policy_document.lambda_assume_role.json
  permissions_boundary = local.permissions_boundary_arn
}

# Network interfaces in the VPC: the one AWS managed policy of the stack, kept current by AWS with what
# Lambda checks for. Logs, traces and the dead-letter queue are granted per function below.
resource "aws_iam_role_policy_attachment" "lambda_eni_management" {
  for_each = aws_iam_role.lambda

  role       = each.value.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AWSLambdaENIManagementAccess"
}

data "aws_iam_policy_document" "lambda_runtime" {
  for_each = toset(local.lambda_function_names)

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this["lambda-${each.key}"].arn}:*"]
  }

  statement {
    sid       = "SendFailedInvocations"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.lambda_dead_letter.arn]
  }

  statement {
    sid = "WriteTraces"
    actions = [
      "xray:GetSamplingRules",
      "xray:GetSamplingStatisticSummaries",
      "xray:GetSamplingTargets",
      "xray:PutTelemetryRecords",
      "xray:PutTraceSegments",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "UseStackKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.this.arn]
  }
}

resource "aws_iam_role_policy" "lambda_runtime" {
  for_each = aws_iam_role.lambda

  name   = "runtime"
  role   = each.value.name
  policy = data.aws_iam_policy_document.lambda_runtime[each.key].json
}
