# Partial configuration: bucket, key (aws/<env>/terraform.tfstate), region and the lock settings are passed
# per environment by the runbook's init stage (`terraform init -backend-config=...`).
terraform {
  backend "s3" {}
}
