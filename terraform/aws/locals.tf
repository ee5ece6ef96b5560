data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  name       = "${var.project}-${var.environment}"
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  tags = merge(var.tags, {
    Project     = var.project
    Environment = var.environment
    ManagedBy   = "terraform"
  })

  ecs_service_names     = ["data-ingestion", "oms"]
  lambda_function_names = ["strategy-worker", "cognitive", "notification", "recorder"]

  # Which data services each workload may reach; drives both the security group rules and the IAM policies.
  workload_access = {
    "data-ingestion"  = ["kafka", "redis", "data_lake"]
    "oms"             = ["kafka", "redis", "database"]
    "strategy-worker" = ["kafka", "redis", "oms"]
    "cognitive"       = ["kafka", "redis", "database", "data_lake"]
    "notification"    = ["kafka"]
    "recorder"        = ["kafka", "database", "data_lake"]
  }

  # Connection settings every workload receives; none of them is a secret (auth is through IAM).
  workload_environment = {
    ENVIRONMENT             = var.environment
    KAFKA_BOOTSTRAP_BROKERS = aws_msk_cluster.this.bootstrap_brokers_sasl_iam
    REDIS_ENDPOINT          = local.redis_endpoint
    REDIS_USER              = aws_elasticache_user.app.user_name
    DATABASE_ENDPOINT       = aws_db_instance.this.endpoint
    DATABASE_NAME           = aws_db_instance.this.db_name
    DATA_LAKE_BUCKET        = aws_s3_bucket.data_lake.id
    OMS_GRPC_ENDPOINT       = local.oms_grpc_endpoint
  }
}
