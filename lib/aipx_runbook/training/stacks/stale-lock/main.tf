# Drill stack "stale-lock": built-in terraform_data resources only (no provider to download).
# The deploy step of the service takes `pause` seconds: the drill's setup applies it with a long pause
# and kills Terraform mid-way, leaving Terraform's own lock behind.
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

variable "pause" {
  description = "Seconds the service's deploy step takes."
  type        = number
  default     = 0
}

resource "terraform_data" "network" {
  input = "aipx-${var.environment}-vpc"
}

resource "terraform_data" "service" {
  input = { name = "aipx-${var.environment}-oms", network = terraform_data.network.id }

  provisioner "local-exec" {
    command = "sleep ${var.pause}"
  }
}

output "service" {
  value = terraform_data.service.output.name
}
