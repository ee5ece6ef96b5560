# AIPX production: high availability (seed: "고가용성 설정").
# No secrets here: the database master password is managed by RDS in Secrets Manager.

environment = "production"

# Network: three AZs, one NAT gateway per AZ
availability_zone_count = 3
vpc_cidr                = "10.30.0.0/16"
single_nat_gateway      = false

# MSK: kafka.m5.large x 3 brokers over 3 AZs
kafka_version            = "3.6.0"
kafka_instance_type      = "kafka.m5.large"
kafka_broker_count       = 3
kafka_ebs_volume_size_gb = 500

# ElastiCache Redis: cache.r6g.large x 6 nodes, cluster mode (3 shards x 1 replica)
redis_node_type               = "cache.r6g.large"
redis_engine_version          = "7.1"
redis_num_node_groups         = 3
redis_replicas_per_node_group = 1
redis_snapshot_retention_days = 7

# RDS PostgreSQL: db.r6g.xlarge, Multi-AZ, deletion protection
rds_instance_class           = "db.r6g.xlarge"
rds_engine_version           = "16"
rds_multi_az                 = true
rds_allocated_storage_gb     = 100
rds_max_allocated_storage_gb = 1000
rds_backup_retention_days    = 30
rds_deletion_protection      = true
rds_skip_final_snapshot      = false

# ECS Fargate: 1 vCPU / 2 GB on regular (on-demand) Fargate
fargate_cpu                  = 1024
fargate_memory               = 2048
data_ingestion_desired_count = 2
oms_desired_count            = 3
use_fargate_spot             = false

# Lambda and logs
lambda_memory_mb   = 1024
log_retention_days = 365

# Destroy never deletes production data: a non-empty data lake or ECR repository stops it (empty them knowingly).
force_destroy = false
