# The state bucket and its versioning, imported into this stack. Deleting this file "drops" them: Terraform then
# plans to delete the bucket that holds every environment's state.
import {
  to = aws_s3_bucket.state
  id = "aipx-terraform-state"
}

resource "aws_s3_bucket" "state" {
  bucket = "aipx-terraform-state"

  lifecycle {
    ignore_changes = all
  }
}

import {
  to = aws_s3_bucket_versioning.state
  id = "aipx-terraform-state"
}

resource "aws_s3_bucket_versioning" "state" {
  bucket = aws_s3_bucket.state.id

  versioning_configuration {
    status = "Enabled"
  }
}
