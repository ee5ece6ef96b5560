################################################################################
# The seed's outputs
################################################################################

output "vpc_id" {
  description = "VPC ID."
  value       = module.vpc.vpc_id
}

output "public_subnets" {
  description = "IDs of the public subnets (NAT gateways)."
  value       = module.vpc.public_subnets
}

output "private_subnets" {
  description = "IDs of the private subnets (ECS tasks, Lambda functions)."
  value       = module.vpc.private_subnets
}

output "kafka_bootstrap_brokers" {
  description = "MSK bootstrap brokers for IAM authentication over TLS (host:9098,...)."
  value       = aws_msk_cluster.this.bootstrap_brokers_sasl_iam
  sensitive   = true
}

output "redis_endpoint" {
  description = "Redis endpoint host:port (configuration endpoint in cluster mode, primary endpoint otherwise); TLS and IAM auth required."
  value       = local.redis_endpoint
  sensitive   = true
}

output "database_endpoint" {
  description = "PostgreSQL endpoint host:port; TLS required."
  value       = aws_db_instance.this.endpoint
  sensitive   = true
}

output "oms_grpc_endpoint" {
  description = "Internal gRPC address of OMS (Cloud Map DNS name:port), resolvable inside the VPC."
  value       = local.oms_grpc_endpoint
}

output "cognitive_api_url" {
  description = "Invoke URL of the cognitive service's HTTP API (requests are SigV4-signed)."
  value       = aws_apigatewayv2_stage.default.invoke_url
}

output "data_lake_bucket" {
  description = "Name of the S3 data lake bucket."
  value       = aws_s3_bucket.data_lake.id
}

################################################################################
# For the runbook's verification stage
################################################################################

output "availability_zones" {
  description = "Availability zones the stack spans."
  value       = local.azs
}

output "database_subnets" {
  description = "IDs of the isolated database subnets (RDS, ElastiCache, MSK)."
  value       = module.vpc.database_subnets
}

output "ecs_cluster_name" {
  description = "Name of the ECS cluster."
  value       = aws_ecs_cluster.this.name
}

output "ecs_service_names" {
  description = "Names of the ECS services in the cluster."
  value       = [for service in aws_ecs_service.this : service.name]
}

output "ecr_repository_urls" {
  description = "ECR repository URL of each ECS service."
  value       = { for service, repository in aws_ecr_repository.this : service => repository.repository_url }
}

output "kafka_cluster_arn" {
  description = "ARN of the MSK cluster."
  value       = aws_msk_cluster.this.arn
}

output "redis_replication_group_id" {
  description = "ID of the ElastiCache replication group."
  value       = aws_elasticache_replication_group.this.id
}

output "redis_user_name" {
  description = "Redis user the workloads authenticate as (IAM authentication)."
  value       = aws_elasticache_user.app.user_name
}

output "database_instance_identifier" {
  description = "Identifier of the RDS instance."
  value       = aws_db_instance.this.identifier
}

output "database_master_user_secret_arn" {
  description = "ARN of the Secrets Manager secret in which RDS keeps the master user password (the ARN only)."
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
}

output "oms_service_discovery_namespace" {
  description = "Name of the Cloud Map private DNS namespace that holds the OMS service."
  value       = aws_service_discovery_private_dns_namespace.this.name
}

output "cognitive_api_id" {
  description = "ID of the cognitive service's HTTP API."
  value       = aws_apigatewayv2_api.cognitive.id
}

output "lambda_function_names" {
  description = "Lambda function name of each cold-path service."
  value       = { for function, lambda in aws_lambda_function.this : function => lambda.function_name }
}

output "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the stack's data at rest."
  value       = aws_kms_key.this.arn
}
