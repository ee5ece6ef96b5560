terraform {
  # Provider-free on purpose: runs anywhere, even with no registry access.
  required_version = ">= 1.0.0"

  backend "s3" {}
}
