# AIPX staging: production's topology (Redis cluster mode with replicas, Multi-AZ database, MSK on m5
# brokers) at smaller sizes over two AZs, so failover and cluster-mode client behaviour are tested
# before production.
# No secrets here: the database master password is managed by RDS in Secrets Manager.

environment = "staging"

# Network
availability_zone_count = 2
vpc_cidr                = "10.20.0.0/16"
single_nat_gateway      = true

# MSK: kafka.m5.large x 2 brokers (one per AZ), production's broker family
kafka_version            = "3.6.0"
kafka_instance_type      = "kafka.m5.large"
kafka_broker_count       = 2
kafka_ebs_volume_size_gb = 100

# ElastiCache Redis: cache.t4g.small x 4 nodes, cluster mode (2 shards x 1 replica)
redis_node_type               = "cache.t4g.small"
redis_engine_version          = "7.1"
redis_num_node_groups         = 2
redis_replicas_per_node_group = 1
redis_snapshot_retention_days = 3

# RDS PostgreSQL: db.t4g.medium, Multi-AZ
rds_instance_class           = "db.t4g.medium"
rds_engine_version           = "16"
rds_multi_az                 = true
rds_allocated_storage_gb     = 50
rds_max_allocated_storage_gb = 200
rds_backup_retention_days    = 7
rds_deletion_protection      = false
rds_skip_final_snapshot      = false

# ECS Fargate: 0.5 vCPU / 1 GB on Fargate Spot
fargate_cpu                  = 512
fargate_memory               = 1024
data_ingestion_desired_count = 1
oms_desired_count            = 2
use_fargate_spot             = true

# Lambda and logs
lambda_memory_mb   = 512
log_retention_days = 30

# Destroy empties the data lake, the access-log bucket and the ECR repositories: staging holds test data only.
force_destroy = true
