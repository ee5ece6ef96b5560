locals {
  # Service ports of the data layer and of OMS; every rule below is derived from local.workload_access.
  service_ports = {
    kafka    = 9098 # MSK, IAM authentication over TLS
    redis    = 6379
    database = 5432
    oms      = var.oms_grpc_port
  }

  # Every workload has its own security group, so each reaches only the services it needs.
  client_security_groups = merge(
    {
      "data-ingestion" = aws_security_group.data_ingestion.id
      "oms"            = aws_security_group.oms.id
    },
    { for function, group in aws_security_group.lambda : function => group.id },
  )

  service_security_groups = {
    kafka    = aws_security_group.msk.id
    redis    = aws_security_group.redis.id
    database = aws_security_group.rds.id
    oms      = aws_security_group.oms.id
  }

  # One rule per (workload, service): "oms-database", "strategy-worker-oms", ...
  service_access_rules = {
    for pair in flatten([
      for workload, services in local.workload_access : [
        for service in services : { client = workload, service = service }
        if contains(keys(local.service_ports), service)
      ]
    ]) : "${pair.client}-${pair.service}" => pair
  }
}

################################################################################
# Application security groups (clients)
################################################################################

resource "aws_security_group" "data_ingestion" {
  name        = "${local.name}-data-ingestion"
  description = "ECS service data-ingestion"
  vpc_id      = module.vpc.vpc_id

  tags = { Name = "${local.name}-data-ingestion" }
}

resource "aws_security_group" "oms" {
  name        = "${local.name}-oms"
  description = "ECS service oms (gRPC server)"
  vpc_id      = module.vpc.vpc_id

  tags = { Name = "${local.name}-oms" }
}

resource "aws_security_group" "lambda" {
  #checkov:skip=CKV2_AWS_5:False positive: each group is attached by aws_lambda_function.this[each.key] (vpc_config); checkov links only one for_each instance.
  for_each = toset(local.lambda_function_names)

  name        = "${local.name}-${each.key}-lambda"
  description = "Lambda function ${each.key}"
  vpc_id      = module.vpc.vpc_id

  tags = { Name = "${local.name}-${each.key}-lambda" }
}

# HTTPS out to AWS APIs (ECR, Secrets Manager, STS, ...), the S3 gateway endpoint and external market
# data and notification providers; everything else stays inside the VPC.
resource "aws_vpc_security_group_egress_rule" "https" {
  for_each = local.client_security_groups

  security_group_id = each.value
  description       = "HTTPS to AWS APIs and external providers"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

################################################################################
# Data layer security groups (no egress rules: they only answer)
################################################################################

resource "aws_security_group" "msk" {
  name        = "${local.name}-msk"
  description = "MSK brokers: Kafka over TLS with IAM authentication from the application only"
  vpc_id      = module.vpc.vpc_id

  tags = { Name = "${local.name}-msk" }
}

resource "aws_security_group" "redis" {
  name        = "${local.name}-redis"
  description = "ElastiCache Redis: TLS from the application only"
  vpc_id      = module.vpc.vpc_id

  tags = { Name = "${local.name}-redis" }
}

resource "aws_security_group" "rds" {
  name        = "${local.name}-rds"
  description = "RDS PostgreSQL: TLS from the application only"
  vpc_id      = module.vpc.vpc_id

  tags = { Name = "${local.name}-rds" }
}

################################################################################
# Client -> service rules
################################################################################

resource "aws_vpc_security_group_ingress_rule" "service_access" {
  for_each = local.service_access_rules

  security_group_id            = local.service_security_groups[each.value.service]
  description                  = "${each.value.service} from ${each.value.client}"
  ip_protocol                  = "tcp"
  from_port                    = local.service_ports[each.value.service]
  to_port                      = local.service_ports[each.value.service]
  referenced_security_group_id = local.client_security_groups[each.value.client]
}

resource "aws_vpc_security_group_egress_rule" "service_access" {
  for_each = local.service_access_rules

  security_group_id            = local.client_security_groups[each.value.client]
  description                  = "${each.value.client} to ${each.value.service}"
  ip_protocol                  = "tcp"
  from_port                    = local.service_ports[each.value.service]
  to_port                      = local.service_ports[each.value.service]
  referenced_security_group_id = local.service_security_groups[each.value.service]
}
