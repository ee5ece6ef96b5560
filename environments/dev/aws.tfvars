# AIPX dev: smallest footprint that still runs every component (seed: "비용 최소화 설정").
# No secrets here: the database master password is managed by RDS in Secrets Manager.

environment = "dev"

# Network
availability_zone_count = 2
vpc_cidr                = "10.10.0.0/16"
single_nat_gateway      = true

# MSK: the seed's "kafka.t3.small x 1" cannot be created; MSK needs a broker per client subnet (2 AZs).
kafka_version            = "3.6.0"
kafka_instance_type      = "kafka.t3.small"
kafka_broker_count       = 2
kafka_ebs_volume_size_gb = 20

# ElastiCache Redis: cache.t3.micro x 1 node
redis_node_type               = "cache.t3.micro"
redis_engine_version          = "7.1"
redis_num_node_groups         = 1
redis_replicas_per_node_group = 0
redis_snapshot_retention_days = 1

# RDS PostgreSQL: db.t3.micro, single AZ
rds_instance_class           = "db.t3.micro"
rds_engine_version           = "16"
rds_multi_az                 = false
rds_allocated_storage_gb     = 20
rds_max_allocated_storage_gb = 50
rds_backup_retention_days    = 1
rds_deletion_protection      = false
rds_skip_final_snapshot      = true

# ECS Fargate: 0.25 vCPU / 512 MB on Fargate Spot
fargate_cpu                  = 256
fargate_memory               = 512
data_ingestion_desired_count = 1
oms_desired_count            = 1
use_fargate_spot             = true

# Lambda and logs
lambda_memory_mb   = 256
log_retention_days = 7

# Destroy empties the data lake, the access-log bucket and the ECR repositories: dev data is disposable.
force_destroy = true
