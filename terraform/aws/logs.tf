locals {
  database_identifier = "${local.name}-postgres"

  # Every log group of the stack except the VPC flow log (in module.vpc), created here so that each has
  # the environment's retention and the stack's KMS key before the service starts writing to it. Not here:
  # RDS enhanced monitoring's RDSOSMetrics, one group per account and region shared by every instance of
  # every stack (RDS sets its retention, 30 days); see README, "Logs".
  log_groups = merge(
    { for service in local.ecs_service_names : "ecs-${service}" => "/ecs/${local.name}/${service}" },
    { for function in local.lambda_function_names : "lambda-${function}" => "/aws/lambda/${local.name}-${function}" },
    {
      "ecs-exec"         = "/ecs/${local.name}/exec"
      "msk-broker"       = "/aws/msk/${local.name}/broker"
      "redis-slow-log"   = "/aws/elasticache/${local.name}/slow-log"
      "redis-engine-log" = "/aws/elasticache/${local.name}/engine-log"
      "rds-postgresql"   = "/aws/rds/instance/${local.database_identifier}/postgresql"
      "rds-upgrade"      = "/aws/rds/instance/${local.database_identifier}/upgrade"
      "api-cognitive"    = "/aws/apigateway/${local.name}-cognitive"
      # Created by ECS for Container Insights when the cluster first reports, unless it exists: made here
      # first (the cluster depends on this resource), so it has the retention and the key too.
      "ecs-container-insights" = "/aws/ecs/containerinsights/${local.ecs_cluster_name}/performance"
    },
  )
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:Retention is the per-environment log_retention_days (dev 7, staging 30, production 365 days).
  for_each = local.log_groups

  name              = each.value
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn
}
