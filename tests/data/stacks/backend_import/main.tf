# Test stack (not the product): a careless stack that adopts the runbook's state bucket (adopt.tf), to prove that
# no plan of it, apply or destroy, may ever change the bucket or its settings (tests/integration/test_protected_backend.py).
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

provider "aws" {
  region                      = var.region
  skip_credentials_validation = var.emulator_endpoint != ""
  skip_requesting_account_id  = var.emulator_endpoint != ""
  skip_metadata_api_check     = var.emulator_endpoint != ""
  s3_use_path_style           = var.emulator_endpoint != ""

  endpoints {
    s3       = var.emulator_endpoint != "" ? var.emulator_endpoint : null
    sts      = var.emulator_endpoint != "" ? var.emulator_endpoint : null
    dynamodb = var.emulator_endpoint != "" ? var.emulator_endpoint : null
  }
}

output "environment" {
  value = var.environment
}
