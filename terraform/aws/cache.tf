locals {
  redis_cluster_mode       = var.redis_num_node_groups > 1
  redis_automatic_failover = local.redis_cluster_mode || var.redis_replicas_per_node_group > 0
  redis_major_version      = split(".", var.redis_engine_version)[0]
  redis_parameter_group    = "default.redis${local.redis_major_version}${local.redis_cluster_mode ? ".cluster.on" : ""}"
  redis_port               = 6379
  redis_host = (local.redis_cluster_mode
    ? aws_elasticache_replication_group.this.configuration_endpoint_address
    : aws_elasticache_replication_group.this.primary_endpoint_address
  )
  redis_endpoint = "${local.redis_host}:${local.redis_port}"
  redis_app_user = "${local.name}-app"
}

resource "aws_elasticache_subnet_group" "this" {
  name        = local.name
  description = "Database subnets of ${local.name}"
  subnet_ids  = module.vpc.database_subnets
}

# Access control (RBAC): the mandatory "default" user is switched off; the application connects as the
# IAM-authenticated user below, so no Redis password exists anywhere.
resource "aws_elasticache_user" "default" {
  user_id       = "${local.name}-default"
  user_name     = "default"
  engine        = "REDIS"
  access_string = "off -@all"

  authentication_mode {
    type = "no-password-required"
  }
}

# For IAM authentication ElastiCache requires user_id == user_name.
resource "aws_elasticache_user" "app" {
  user_id       = local.redis_app_user
  user_name     = local.redis_app_user
  engine        = "REDIS"
  access_string = "on ~* +@all"

  authentication_mode {
    type = "iam"
  }
}

resource "aws_elasticache_user_group" "this" {
  user_group_id = local.name
  engine        = "REDIS"
  user_ids      = [aws_elasticache_user.default.user_id, aws_elasticache_user.app.user_id]
}

resource "aws_elasticache_replication_group" "this" {
  replication_group_id = local.name
  description          = "Redis of ${local.name}"
  engine               = "redis"
  engine_version       = var.redis_engine_version
  node_type            = var.redis_node_type
  port                 = local.redis_port
  parameter_group_name = local.redis_parameter_group

  num_node_groups            = var.redis_num_node_groups
  replicas_per_node_group    = var.redis_replicas_per_node_group
  automatic_failover_enabled = local.redis_automatic_failover
  multi_az_enabled           = var.redis_replicas_per_node_group > 0

  subnet_group_name  = aws_elasticache_subnet_group.this.name
  security_group_ids = [aws_security_group.redis.id]

  at_rest_encryption_enabled = true
  kms_key_id                 = aws_kms_key.this.arn
  transit_encryption_enabled = true
  user_group_ids             = [aws_elasticache_user_group.this.id]

  # Windows are UTC: 02:00-04:30 KST, outside Korean market hours.
  snapshot_retention_limit   = var.redis_snapshot_retention_days
  snapshot_window            = "17:00-18:00"
  maintenance_window         = "sun:18:30-sun:19:30"
  auto_minor_version_upgrade = true

  log_delivery_configuration {
    destination      = aws_cloudwatch_log_group.this["redis-slow-log"].name
    destination_type = "cloudwatch-logs"
    log_format       = "json"
    log_type         = "slow-log"
  }

  log_delivery_configuration {
    destination      = aws_cloudwatch_log_group.this["redis-engine-log"].name
    destination_type = "cloudwatch-logs"
    log_format       = "json"
    log_type         = "engine-log"
  }
}
