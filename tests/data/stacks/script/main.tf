# Test stack (not the product): provider-free, reads a script of its own, so an edit to that script after
# planning must make apply refuse the saved plan (tests/integration/test_stack_digest.py).
terraform {
  required_version = ">= 1.4.0"
  backend "s3" {}
}

variable "environment" {
  type = string
}

resource "terraform_data" "deploy" {
  input = file("${path.module}/scripts/deploy.sh")
}

output "script" {
  value = terraform_data.deploy.output
}
