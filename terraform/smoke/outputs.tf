locals {
  name_prefix = "${var.project}-${var.environment}"
}

output "environment" {
  description = "The environment this state belongs to."
  value       = var.environment
}

output "ecs_cluster_name" {
  description = "Name the AIPX stack gives the environment's ECS cluster."
  value       = local.name_prefix
}

output "data_lake_bucket" {
  description = "Name the AIPX stack gives the environment's data lake bucket."
  value       = "${local.name_prefix}-data-lake"
}

output "planned_sizing" {
  description = "The data layer the AIPX stack would create for this environment."
  value = {
    kafka    = "${var.kafka_broker_count} x ${var.kafka_instance_type}"
    redis    = var.redis_node_type
    database = "${var.rds_instance_class}${var.rds_multi_az ? " Multi-AZ" : " single-AZ"}"
  }
}

output "database_endpoint" {
  description = "Stand-in for the AIPX database endpoint (sensitive, as in the real stack)."
  value       = var.database_host != "" ? var.database_host : "${local.name_prefix}-db.smoke.invalid:5432"
  sensitive   = true
}
