variable "project" {
  description = "Project name, the prefix of every resource name."
  type        = string
  default     = "aipx"
}

variable "environment" {
  description = "Environment name: dev, staging or production."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "production"], var.environment)
    error_message = "The environment must be dev, staging or production."
  }
}

variable "region" {
  description = "AWS region the environment lives in."
  type        = string
  default     = "ap-northeast-2"
}

variable "kafka_instance_type" {
  description = "MSK broker instance type the AIPX stack would use."
  type        = string
  default     = "kafka.t3.small"
}

variable "kafka_broker_count" {
  description = "MSK broker count the AIPX stack would use."
  type        = number
  default     = 2
}

variable "redis_node_type" {
  description = "ElastiCache node type the AIPX stack would use."
  type        = string
  default     = "cache.t3.micro"
}

variable "rds_instance_class" {
  description = "RDS instance class the AIPX stack would use."
  type        = string
  default     = "db.t3.micro"
}

variable "rds_multi_az" {
  description = "Whether the AIPX stack's database would be Multi-AZ."
  type        = bool
  default     = false
}

variable "database_host" {
  description = "Stand-in for the database endpoint; sensitive so the runbook's masking is exercised."
  type        = string
  default     = ""
  sensitive   = true
}
