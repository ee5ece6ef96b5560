################################################################################
# General
################################################################################

variable "project" {
  description = "Project name, the first part of every resource name (\"<project>-<environment>\")."
  type        = string
  default     = "aipx"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,14}$", var.project))
    error_message = "project must be 2-15 characters: lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "environment" {
  description = "Deployment environment: dev, staging or production."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "production"], var.environment)
    error_message = "environment must be one of dev, staging, production."
  }
}

variable "region" {
  description = "AWS region the stack is deployed to."
  type        = string
  default     = "ap-northeast-2"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as ap-northeast-2."
  }
}

variable "emulator_endpoint" {
  description = "URL of a local AWS emulator (moto server) used for every service endpoint; \"\" (default) talks to real AWS."
  type        = string
  default     = ""

  validation {
    condition     = var.emulator_endpoint == "" || can(regex("^https?://", var.emulator_endpoint))
    error_message = "emulator_endpoint must be empty or an http(s):// URL."
  }
}

variable "tags" {
  description = "Extra tags for every resource; Project, Environment and ManagedBy are always set by the stack."
  type        = map(string)
  default     = {}
}

variable "kms_key_administrator_arns" {
  description = "IAM users or roles that administer and use the stack's KMS key through its key policy; empty: the identity running Terraform (a role's ARN belongs here when operators assume a role)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.kms_key_administrator_arns : can(regex("^arn:[a-z-]+:(iam|sts)::[0-9]{12}:", arn))])
    error_message = "kms_key_administrator_arns must hold IAM user or role ARNs."
  }
}

variable "force_destroy" {
  description = "Let terraform destroy delete the data lake and access-log buckets and the ECR repositories with their objects and images (dev and staging: true; production: false, so its data is never deleted by a destroy)."
  type        = bool
  default     = false
}

################################################################################
# Network
################################################################################

variable "availability_zone_count" {
  description = "Number of availability zones the VPC spans (2 or 3); every subnet tier gets one subnet per zone."
  type        = number

  validation {
    condition     = contains([2, 3], var.availability_zone_count)
    error_message = "availability_zone_count must be 2 or 3."
  }
}

variable "availability_zone_suffixes" {
  description = "Zone letters the stack may use, in order (\"a\" = <region>a); the first availability_zone_count available ones are used."
  type        = list(string)
  default     = ["a", "b", "c", "d"]

  validation {
    condition     = alltrue([for suffix in var.availability_zone_suffixes : can(regex("^[a-z]$", suffix))])
    error_message = "availability_zone_suffixes must be single lowercase letters."
  }
}

variable "vpc_cidr" {
  description = "IPv4 CIDR block of the VPC, /16 to /20; public, private and database subnets are carved from it."
  type        = string

  validation {
    condition = (
      can(cidrhost(var.vpc_cidr, 0)) &&
      try(tonumber(split("/", var.vpc_cidr)[1]) >= 16 && tonumber(split("/", var.vpc_cidr)[1]) <= 20, false)
    )
    error_message = "vpc_cidr must be an IPv4 CIDR block with a prefix length between /16 and /20."
  }
}

variable "single_nat_gateway" {
  description = "One shared NAT gateway (cheaper, one AZ is a single point of failure) instead of one per AZ."
  type        = bool
}

################################################################################
# Streaming: Amazon MSK
################################################################################

variable "kafka_version" {
  description = "Apache Kafka version of the MSK cluster."
  type        = string

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+", var.kafka_version))
    error_message = "kafka_version must be an MSK Kafka version such as 3.6.0."
  }
}

variable "kafka_instance_type" {
  description = "MSK broker instance type, e.g. kafka.t3.small or kafka.m5.large."
  type        = string

  validation {
    condition     = can(regex("^kafka\\.[a-z0-9]+\\.[a-z0-9]+$", var.kafka_instance_type))
    error_message = "kafka_instance_type must be an MSK broker type starting with \"kafka.\"."
  }
}

variable "kafka_broker_count" {
  description = "Number of MSK brokers; must be a multiple of availability_zone_count (MSK spreads brokers evenly over the client subnets)."
  type        = number

  validation {
    condition     = var.kafka_broker_count >= 2 && floor(var.kafka_broker_count) == var.kafka_broker_count
    error_message = "kafka_broker_count must be a whole number of at least 2 (one per client subnet, minimum two subnets)."
  }
}

variable "kafka_ebs_volume_size_gb" {
  description = "EBS storage per MSK broker, in GiB."
  type        = number

  validation {
    condition     = var.kafka_ebs_volume_size_gb >= 1 && var.kafka_ebs_volume_size_gb <= 16384
    error_message = "kafka_ebs_volume_size_gb must be between 1 and 16384."
  }
}

################################################################################
# Cache: Amazon ElastiCache for Redis
################################################################################

variable "redis_node_type" {
  description = "ElastiCache node type, e.g. cache.t3.micro or cache.r6g.large."
  type        = string

  validation {
    condition     = can(regex("^cache\\.[a-z0-9]+\\.[a-z0-9]+$", var.redis_node_type))
    error_message = "redis_node_type must be an ElastiCache node type starting with \"cache.\"."
  }
}

variable "redis_engine_version" {
  description = "Redis engine version (7.0 or later: IAM authentication needs it)."
  type        = string

  validation {
    condition     = can(regex("^[7-9]\\.[0-9]+$", var.redis_engine_version))
    error_message = "redis_engine_version must be major.minor, 7.0 or later (e.g. 7.1)."
  }
}

variable "redis_num_node_groups" {
  description = "Number of Redis shards; more than one enables cluster mode. Total nodes = shards * (1 + replicas)."
  type        = number

  validation {
    condition     = var.redis_num_node_groups >= 1 && var.redis_num_node_groups <= 500
    error_message = "redis_num_node_groups must be between 1 and 500."
  }
}

variable "redis_replicas_per_node_group" {
  description = "Read replicas per Redis shard (0-5); at least one enables automatic failover and Multi-AZ."
  type        = number

  validation {
    condition     = var.redis_replicas_per_node_group >= 0 && var.redis_replicas_per_node_group <= 5
    error_message = "redis_replicas_per_node_group must be between 0 and 5."
  }
}

variable "redis_snapshot_retention_days" {
  description = "Days ElastiCache keeps automatic daily snapshots."
  type        = number
  default     = 7

  validation {
    condition     = var.redis_snapshot_retention_days >= 1 && var.redis_snapshot_retention_days <= 35
    error_message = "redis_snapshot_retention_days must be between 1 and 35."
  }
}

################################################################################
# Database: Amazon RDS for PostgreSQL
################################################################################

variable "rds_instance_class" {
  description = "RDS instance class, e.g. db.t3.micro or db.r6g.xlarge."
  type        = string

  validation {
    condition     = can(regex("^db\\.[a-z0-9]+\\.[a-z0-9]+$", var.rds_instance_class))
    error_message = "rds_instance_class must be an RDS instance class starting with \"db.\"."
  }
}

variable "rds_engine_version" {
  description = "PostgreSQL version: a major version (\"16\", minor upgrades applied automatically) or major.minor."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{2}(\\.[0-9]+)?$", var.rds_engine_version))
    error_message = "rds_engine_version must look like 16 or 16.4."
  }
}

variable "rds_multi_az" {
  description = "Run the database with a synchronous standby in a second AZ."
  type        = bool
}

variable "rds_allocated_storage_gb" {
  description = "Initial gp3 storage of the database, in GiB."
  type        = number

  validation {
    condition     = var.rds_allocated_storage_gb >= 20 && var.rds_allocated_storage_gb <= 65536
    error_message = "rds_allocated_storage_gb must be between 20 and 65536."
  }
}

variable "rds_max_allocated_storage_gb" {
  description = "Upper limit for storage autoscaling, in GiB (at least rds_allocated_storage_gb)."
  type        = number

  validation {
    condition     = var.rds_max_allocated_storage_gb >= 20 && var.rds_max_allocated_storage_gb <= 65536
    error_message = "rds_max_allocated_storage_gb must be between 20 and 65536."
  }
}

variable "rds_backup_retention_days" {
  description = "Days of automated backups (point-in-time recovery window)."
  type        = number

  validation {
    condition     = var.rds_backup_retention_days >= 1 && var.rds_backup_retention_days <= 35
    error_message = "rds_backup_retention_days must be between 1 and 35 (0 would disable backups)."
  }
}

variable "rds_deletion_protection" {
  description = "Refuse to delete the database (must be turned off before terraform destroy)."
  type        = bool
}

variable "rds_skip_final_snapshot" {
  description = "Skip the final snapshot when the database is destroyed (dev only: its data is disposable)."
  type        = bool
  default     = false
}

################################################################################
# Compute: ECS Fargate (hot path)
################################################################################

variable "fargate_cpu" {
  description = "CPU units per Fargate task (1024 = 1 vCPU; 256 = 0.25 vCPU)."
  type        = number

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.fargate_cpu)
    error_message = "fargate_cpu must be one of 256, 512, 1024, 2048, 4096, 8192, 16384."
  }
}

variable "fargate_memory" {
  description = "Memory per Fargate task, in MiB; must be a valid combination with fargate_cpu."
  type        = number

  validation {
    condition     = var.fargate_memory >= 512 && var.fargate_memory <= 122880
    error_message = "fargate_memory must be between 512 and 122880 MiB."
  }
}

variable "data_ingestion_desired_count" {
  description = "Running tasks of the data-ingestion service (0 pauses it)."
  type        = number

  validation {
    condition     = var.data_ingestion_desired_count >= 0
    error_message = "data_ingestion_desired_count must not be negative."
  }
}

variable "oms_desired_count" {
  description = "Running tasks of the OMS service (0 pauses it)."
  type        = number

  validation {
    condition     = var.oms_desired_count >= 0
    error_message = "oms_desired_count must not be negative."
  }
}

variable "use_fargate_spot" {
  description = "Run the ECS services on Fargate Spot (up to 70% cheaper, tasks can be interrupted)."
  type        = bool
}

variable "container_image_tag" {
  description = "Image tag the ECS task definitions run from each service's ECR repository (pushed by the Phase 1 pipeline)."
  type        = string
  default     = "bootstrap"

  validation {
    # Docker's tag grammar, which ECR enforces: up to 128 characters, no leading period or hyphen.
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.container_image_tag))
    error_message = "container_image_tag must be an image tag: 1-128 letters, digits, _, . or -, not starting with . or -."
  }
}

variable "oms_grpc_port" {
  description = "Port of the OMS gRPC server inside the VPC."
  type        = number
  default     = 50051

  validation {
    # Fargate containers run without root privileges by convention here, so no port below 1024.
    condition     = var.oms_grpc_port >= 1024 && var.oms_grpc_port <= 65535 && floor(var.oms_grpc_port) == var.oms_grpc_port
    error_message = "oms_grpc_port must be a whole number between 1024 and 65535."
  }
}

################################################################################
# Functions: AWS Lambda (cold path)
################################################################################

variable "lambda_memory_mb" {
  description = "Memory of each Lambda function, in MB (CPU scales with it)."
  type        = number

  validation {
    condition     = var.lambda_memory_mb >= 128 && var.lambda_memory_mb <= 10240
    error_message = "lambda_memory_mb must be between 128 and 10240."
  }
}

variable "lambda_runtime" {
  description = "Lambda runtime of the functions (placeholder handlers are Python)."
  type        = string
  default     = "python3.12"

  validation {
    # The placeholder handler is Python, and the functions run on arm64: a Python runtime Lambda supports on
    # Graviton (python3.9 and later).
    condition     = can(regex("^python3\\.(9|[1-9][0-9])$", var.lambda_runtime))
    error_message = "lambda_runtime must be a Python runtime from python3.9 on, such as python3.12 (the placeholder handler is Python)."
  }
}

variable "lambda_timeout_seconds" {
  description = "Timeout of each Lambda function, in seconds (the cognitive API caps requests at 29 s)."
  type        = number
  default     = 30

  validation {
    condition     = var.lambda_timeout_seconds >= 1 && var.lambda_timeout_seconds <= 900
    error_message = "lambda_timeout_seconds must be between 1 and 900."
  }
}

################################################################################
# Logging
################################################################################

variable "log_retention_days" {
  description = "Retention of every CloudWatch log group of the stack (VPC flow logs, services, functions, API, MSK, RDS, Redis)."
  type        = number

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ..., 365, ...)."
  }
}
