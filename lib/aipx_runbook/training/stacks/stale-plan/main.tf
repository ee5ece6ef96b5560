# Drill stack "stale-plan": built-in terraform_data resources only (no provider to download).
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

resource "terraform_data" "service" {
  input = "aipx-${var.environment}-oms"
}

output "service" {
  value = terraform_data.service.output
}
