# Drill stack "half-applied": built-in terraform_data resources only (no provider to download).
# The function's deploy step needs its code package in the artifacts bucket of the emulator; when the
# build has not uploaded it yet, the apply fails there, after the network and the database were created.
terraform {
  required_version = ">= 1.4.0"
  backend "s3" {}
}

variable "environment" {
  type = string
}

variable "region" {
  type    = string
  default = "ap-northeast-2"
}

variable "emulator_endpoint" {
  type    = string
  default = ""
}

resource "terraform_data" "network" {
  input = "aipx-${var.environment}-vpc"
}

resource "terraform_data" "database" {
  input = { name = "aipx-${var.environment}-db", network = terraform_data.network.id }
}

resource "terraform_data" "function" {
  input = { name = "aipx-${var.environment}-strategy-worker", database = terraform_data.database.id }

  provisioner "local-exec" {
    command = "'@PYTHON@' -m aipx_runbook.training.emulated require-object --endpoint '${var.emulator_endpoint}' --region ${var.region} --bucket aipx-${var.environment}-artifacts --key strategy-worker.zip"
  }
}

output "function" {
  value = terraform_data.function.output.name
}
