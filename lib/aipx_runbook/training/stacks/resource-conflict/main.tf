# Drill stack "resource-conflict": built-in terraform_data resources only (no provider to download).
# The data lake's create step creates the bucket in the emulator, as the AIPX stack's aws_s3_bucket would:
# a bucket of the same name that is already there makes it fail the way AWS does.
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

resource "terraform_data" "data_lake" {
  input = "aipx-${var.environment}-data-lake"

  provisioner "local-exec" {
    command = "'@PYTHON@' -m aipx_runbook.training.emulated create-bucket --endpoint '${var.emulator_endpoint}' --region ${var.region} --bucket ${self.input} --tag ManagedBy=terraform --tag Project=aipx"
  }
}

output "data_lake_bucket" {
  value = terraform_data.data_lake.output
}
