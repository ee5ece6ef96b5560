locals {
  ecs_cluster_name          = local.name
  oms_service_discovery_ns  = "${local.name}.internal"
  oms_grpc_endpoint         = "oms.${local.oms_service_discovery_ns}:${var.oms_grpc_port}"
  fargate_capacity_provider = var.use_fargate_spot ? "FARGATE_SPOT" : "FARGATE"

  ecs_services = {
    "data-ingestion" = {
      desired_count     = var.data_ingestion_desired_count
      security_group_id = aws_security_group.data_ingestion.id
      port_mappings     = []
    }
    "oms" = {
      desired_count     = var.oms_desired_count
      security_group_id = aws_security_group.oms.id
      port_mappings     = [{ name = "grpc", containerPort = var.oms_grpc_port, protocol = "tcp", appProtocol = "grpc" }]
    }
  }

  # Fargate task sizes: memory (MiB) allowed for each CPU value (units).
  fargate_memory_options = {
    256   = [512, 1024, 2048]
    512   = range(1024, 4096 + 1, 1024)
    1024  = range(2048, 8192 + 1, 1024)
    2048  = range(4096, 16384 + 1, 1024)
    4096  = range(8192, 30720 + 1, 1024)
    8192  = range(16384, 61440 + 1, 4096)
    16384 = range(32768, 122880 + 1, 8192)
  }
}

################################################################################
# Container registries
################################################################################

resource "aws_ecr_repository" "this" {
  for_each = toset(local.ecs_service_names)

  name                 = "${local.name}/${each.key}"
  image_tag_mutability = "IMMUTABLE"
  force_delete         = var.force_destroy

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = aws_kms_key.this.arn
  }
}

resource "aws_ecr_lifecycle_policy" "this" {
  for_each = aws_ecr_repository.this

  repository = each.value.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Keep the 30 most recent images"
      selection = {
        tagStatus   = "any"
        countType   = "imageCountMoreThan"
        countNumber = 30
      }
      action = { type = "expire" }
    }]
  })
}

################################################################################
# Cluster
################################################################################

resource "aws_ecs_cluster" "this" {
  name = local.ecs_cluster_name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  configuration {
    execute_command_configuration {
      kms_key_id = aws_kms_key.this.arn
      logging    = "OVERRIDE"

      log_configuration {
        cloud_watch_encryption_enabled = true
        cloud_watch_log_group_name     = aws_cloudwatch_log_group.this["ecs-exec"].name
      }
    }
  }
}

resource "aws_ecs_cluster_capacity_providers" "this" {
  cluster_name       = aws_ecs_cluster.this.name
  capacity_providers = ["FARGATE", "FARGATE_SPOT"]

  default_capacity_provider_strategy {
    capacity_provider = local.fargate_capacity_provider
    weight            = 1
  }
}

################################################################################
# OMS service discovery: oms.<project>-<environment>.internal
################################################################################

resource "aws_service_discovery_private_dns_namespace" "this" {
  name        = local.oms_service_discovery_ns
  description = "Internal service names of ${local.name}"
  vpc         = module.vpc.vpc_id
}

resource "aws_service_discovery_service" "oms" {
  name = "oms"

  dns_config {
    namespace_id   = aws_service_discovery_private_dns_namespace.this.id
    routing_policy = "MULTIVALUE"

    dns_records {
      type = "A"
      ttl  = 10
    }
  }

  health_check_custom_config {
    failure_threshold = 1
  }
}

################################################################################
# IAM: one execution role (pull images, write logs), one task role per service
################################################################################

data "aws_iam_policy_document" "ecs_tasks_assume_role" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "ecs_execution" {
  name                 = "${local.name}-ecs-execution"
  assume_role_policy   = data.aws_iam_policy_document.ecs_tasks_assume_role.json
  permissions_boundary = local.permissions_boundary_arn
}

data "aws_iam_policy_document" "ecs_execution" {
  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid       = "PullServiceImages"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    resources = [for repository in aws_ecr_repository.this : repository.arn]
  }

  statement {
    sid       = "WriteServiceLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [for service in local.ecs_service_names : "${aws_cloudwatch_log_group.this["ecs-${service}"].arn}:*"]
  }
}

resource "aws_iam_role_policy" "ecs_execution" {
  name   = "pull-images-write-logs"
  role   = aws_iam_role.ecs_execution.id
  policy = data.aws_iam_policy_document.ecs_execution.json
}

resource "aws_iam_role" "ecs_task" {
  for_each = toset(local.ecs_service_names)

  name                 = "${local.name}-${each.key}-task"
  assume_role_policy   = data.aws_iam_policy_document.ecs_tasks_assume_role.json
  permissions_boundary = local.permissions_boundary_arn
}

################################################################################
# Task definitions and services
################################################################################

resource "aws_ecs_task_definition" "this" {
  for_each = local.ecs_services

  family                   = "${local.name}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.fargate_cpu
  memory                   = var.fargate_memory
  execution_role_arn       = aws_iam_role.ecs_execution.arn
  task_role_arn            = aws_iam_role.ecs_task[each.key].arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64" # Fargate Spot runs X86_64 only
  }

  volume {
    name = "tmp"
  }

  container_definitions = jsonencode([{
    name                   = each.key
    image                  = "${aws_ecr_repository.this[each.key].repository_url}:${var.container_image_tag}"
    essential              = true
    readonlyRootFilesystem = true
    portMappings           = each.value.port_mappings
    mountPoints            = [{ sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }]
    environment = [
      for name, value in merge(local.workload_environment, { SERVICE_NAME = each.key }) : { name = name, value = value }
    ]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.this["ecs-${each.key}"].name
        awslogs-region        = local.region
        awslogs-stream-prefix = each.key
      }
    }
  }])

  lifecycle {
    precondition {
      condition     = contains(local.fargate_memory_options[var.fargate_cpu], var.fargate_memory)
      error_message = "fargate_memory ${var.fargate_memory} MiB is not a valid Fargate size for fargate_cpu ${var.fargate_cpu}."
    }
  }
}

resource "aws_ecs_service" "this" {
  for_each = local.ecs_services

  name                   = each.key
  cluster                = aws_ecs_cluster.this.id
  task_definition        = aws_ecs_task_definition.this[each.key].arn
  desired_count          = each.value.desired_count
  platform_version       = "LATEST"
  propagate_tags         = "SERVICE"
  enable_execute_command = false

  capacity_provider_strategy {
    capacity_provider = local.fargate_capacity_provider
    weight            = 1
  }

  network_configuration {
    subnets          = module.vpc.private_subnets
    security_groups  = [each.value.security_group_id]
    assign_public_ip = false
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  dynamic "service_registries" {
    for_each = each.key == "oms" ? [aws_service_discovery_service.oms.arn] : []

    content {
      registry_arn = service_registries.value
    }
  }

  depends_on = [aws_ecs_cluster_capacity_providers.this]
}
