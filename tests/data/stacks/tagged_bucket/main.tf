# A small root module with real AWS resources the emulator supports: an S3 bucket with tags.
# The drift and apply-what-was-reviewed tests apply it to the moto server, change it out of band with boto3 or
# change environments/<env>/aws.tfvars, and plan it again. `kafka_broker_count` comes from aws.tfvars, so a
# changed tfvars changes the plan. Not part of the product: tests copy it to a temporary folder.
terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }

  backend "s3" {}
}

variable "environment" {
  type = string
}

variable "region" {
  type = string
}

variable "emulator_endpoint" {
  type    = string
  default = ""
}

variable "kafka_broker_count" {
  type    = number
  default = 2
}

variable "bucket_suffix" {
  description = "Part of the bucket's name: changing it replaces the bucket."
  type        = string
  default     = "reports"
}

locals {
  use_emulator = var.emulator_endpoint != ""
}

provider "aws" {
  region                      = var.region
  skip_credentials_validation = local.use_emulator
  skip_requesting_account_id  = local.use_emulator
  skip_metadata_api_check     = local.use_emulator
  s3_use_path_style           = local.use_emulator

  dynamic "endpoints" {
    for_each = local.use_emulator ? [var.emulator_endpoint] : []
    content {
      s3  = endpoints.value
      sts = endpoints.value
    }
  }
}

resource "aws_s3_bucket" "reports" {
  bucket = "aipx-${var.environment}-${var.bucket_suffix}"

  tags = {
    Environment = var.environment
    Owner       = "platform"
    Brokers     = tostring(var.kafka_broker_count)
  }
}

output "bucket" {
  value = aws_s3_bucket.reports.bucket
}

output "bucket_arn" {
  value     = aws_s3_bucket.reports.arn
  sensitive = true
}
