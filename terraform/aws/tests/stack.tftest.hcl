# `terraform test` (Terraform >= 1.7: mock providers) plans the stack without AWS credentials and checks the
# sizing logic, the derived topology and the rules across variables.

mock_provider "aws" {
  mock_data "aws_availability_zones" {
    defaults = {
      names = ["ap-northeast-2a", "ap-northeast-2b", "ap-northeast-2c", "ap-northeast-2d"]
    }
  }

  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }

  mock_data "aws_region" {
    defaults = {
      name = "ap-northeast-2"
    }
  }

  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }

  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
}

# dev's sizing (environments/dev/aws.tfvars)
variables {
  environment                   = "dev"
  availability_zone_count       = 2
  vpc_cidr                      = "10.10.0.0/16"
  single_nat_gateway            = true
  kafka_version                 = "3.6.0"
  kafka_instance_type           = "kafka.t3.small"
  kafka_broker_count            = 2
  kafka_ebs_volume_size_gb      = 20
  redis_node_type               = "cache.t3.micro"
  redis_engine_version          = "7.1"
  redis_num_node_groups         = 1
  redis_replicas_per_node_group = 0
  rds_instance_class            = "db.t3.micro"
  rds_engine_version            = "16"
  rds_multi_az                  = false
  rds_allocated_storage_gb      = 20
  rds_max_allocated_storage_gb  = 50
  rds_backup_retention_days     = 1
  rds_deletion_protection       = false
  fargate_cpu                   = 256
  fargate_memory                = 512
  data_ingestion_desired_count  = 1
  oms_desired_count             = 1
  use_fargate_spot              = true
  lambda_memory_mb              = 256
  log_retention_days            = 7
}

run "dev_is_small_and_single_nat" {
  command = plan

  assert {
    condition     = length(module.vpc.private_subnets) == 2 && length(module.vpc.database_subnets) == 2
    error_message = "dev spans two AZs"
  }

  assert {
    condition     = aws_ecs_cluster.this.name == "aipx-dev"
    error_message = "the ECS cluster is named <project>-<environment>"
  }

  assert {
    condition     = toset(keys(aws_ecs_service.this)) == toset(["data-ingestion", "oms"])
    error_message = "the ECS services are data-ingestion and oms"
  }

  assert {
    condition     = aws_elasticache_replication_group.this.parameter_group_name == "default.redis7" && !aws_elasticache_replication_group.this.automatic_failover_enabled
    error_message = "one Redis node: no cluster mode, no failover"
  }

  assert {
    condition     = one(aws_ecs_service.this["oms"].capacity_provider_strategy[*].capacity_provider) == "FARGATE_SPOT"
    error_message = "dev runs on Fargate Spot"
  }

  assert {
    condition     = output.oms_grpc_endpoint == "oms.aipx-dev.internal:50051"
    error_message = "OMS is reached through Cloud Map"
  }

  assert {
    condition     = aws_s3_bucket.data_lake.bucket == "aipx-dev-data-lake-123456789012"
    error_message = "the data lake bucket name carries the account id"
  }
}

run "production_topology" {
  command = plan

  variables {
    environment                   = "production"
    availability_zone_count       = 3
    vpc_cidr                      = "10.30.0.0/16"
    single_nat_gateway            = false
    kafka_instance_type           = "kafka.m5.large"
    kafka_broker_count            = 3
    redis_node_type               = "cache.r6g.large"
    redis_num_node_groups         = 3
    redis_replicas_per_node_group = 1
    rds_instance_class            = "db.r6g.xlarge"
    rds_multi_az                  = true
    rds_deletion_protection       = true
    fargate_cpu                   = 1024
    fargate_memory                = 2048
    use_fargate_spot              = false
  }

  assert {
    condition     = length(module.vpc.private_subnets) == 3 && length(module.vpc.nat_public_ips) == 3
    error_message = "production spans three AZs with a NAT gateway in each"
  }

  assert {
    condition = (
      aws_elasticache_replication_group.this.parameter_group_name == "default.redis7.cluster.on" &&
      aws_elasticache_replication_group.this.automatic_failover_enabled &&
      aws_elasticache_replication_group.this.multi_az_enabled
    )
    error_message = "six Redis nodes in cluster mode with failover"
  }

  assert {
    condition     = aws_db_instance.this.multi_az && aws_db_instance.this.deletion_protection
    error_message = "the production database is Multi-AZ and protected"
  }

  assert {
    condition     = one(aws_ecs_service.this["oms"].capacity_provider_strategy[*].capacity_provider) == "FARGATE"
    error_message = "production runs on regular Fargate"
  }
}

run "broker_count_must_be_a_multiple_of_the_zones" {
  command = plan

  variables {
    kafka_broker_count = 3
  }

  expect_failures = [aws_msk_cluster.this]
}

run "fargate_memory_must_fit_the_cpu" {
  command = plan

  variables {
    fargate_memory = 4096
  }

  expect_failures = [aws_ecs_task_definition.this]
}

run "environment_names_are_validated" {
  command = plan

  variables {
    environment = "prod"
  }

  expect_failures = [var.environment]
}

run "oms_grpc_port_is_validated" {
  command = plan

  variables {
    oms_grpc_port = 80
  }

  expect_failures = [var.oms_grpc_port]
}

run "lambda_runtime_is_validated" {
  command = plan

  variables {
    lambda_runtime = "nodejs20.x"
  }

  expect_failures = [var.lambda_runtime]
}

run "container_image_tag_is_validated" {
  command = plan

  variables {
    container_image_tag = "-latest:v1"
  }

  expect_failures = [var.container_image_tag]
}

# A new Kafka version gets a configuration of its own (create_before_destroy swaps it under the cluster), and
# the final database snapshot is named after the instance's creation time, so a second destroy cannot collide.
run "kafka_configuration_and_final_snapshot_names_are_unique" {
  command = plan

  variables {
    kafka_version = "3.7.0"
  }

  assert {
    condition     = startswith(aws_msk_configuration.this.name, "aipx-dev-kafka-3-7-0-") && length(aws_msk_configuration.this.name) == length("aipx-dev-kafka-3-7-0-") + 8
    error_message = "the MSK configuration's name carries the Kafka version and a hash of its properties"
  }

  assert {
    condition     = can(regex("^aipx-dev-postgres-final-[0-9]{8}-[0-9]{6}$", aws_db_instance.this.final_snapshot_identifier))
    error_message = "the final snapshot is named <identifier>-final-<UTC creation time>"
  }
}
