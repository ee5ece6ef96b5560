# Drill stack "state-restore": built-in terraform_data resources only (no provider to download).
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

resource "terraform_data" "network" {
  input = "aipx-${var.environment}-vpc"
}

resource "terraform_data" "database" {
  input = { name = "aipx-${var.environment}-db", network = terraform_data.network.id }
}

resource "terraform_data" "queue" {
  input = { name = "aipx-${var.environment}-events", network = terraform_data.network.id }
}

output "database" {
  value = terraform_data.database.output.name
}
