locals {
  use_emulator = var.emulator_endpoint != ""
}

provider "aws" {
  region = var.region

  # Off unless emulator_endpoint is set: the runbook's "local" target points every service at a moto
  # server with dummy credentials, so nothing may be validated against real AWS.
  skip_credentials_validation = local.use_emulator
  skip_requesting_account_id  = local.use_emulator
  skip_metadata_api_check     = local.use_emulator
  s3_use_path_style           = local.use_emulator

  dynamic "endpoints" {
    for_each = local.use_emulator ? [var.emulator_endpoint] : []

    content {
      apigatewayv2     = endpoints.value
      cloudwatchlogs   = endpoints.value
      ec2              = endpoints.value
      ecr              = endpoints.value
      ecs              = endpoints.value
      elasticache      = endpoints.value
      iam              = endpoints.value
      kafka            = endpoints.value
      kms              = endpoints.value
      lambda           = endpoints.value
      rds              = endpoints.value
      s3               = endpoints.value
      secretsmanager   = endpoints.value
      servicediscovery = endpoints.value
      sqs              = endpoints.value
      sts              = endpoints.value
    }
  }

  default_tags {
    tags = local.tags
  }
}
