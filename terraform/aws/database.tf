locals {
  postgres_major_version = split(".", var.rds_engine_version)[0]
}

resource "aws_db_parameter_group" "this" {
  name        = "${local.name}-postgres${local.postgres_major_version}"
  family      = "postgres${local.postgres_major_version}"
  description = "PostgreSQL ${local.postgres_major_version} settings of ${local.name}"

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  parameter {
    name  = "log_statement"
    value = "ddl"
  }

  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }

  parameter {
    name  = "log_connections"
    value = "1"
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_db_instance" "this" {
  #checkov:skip=CKV_AWS_157:Multi-AZ is rds_multi_az per environment: dev runs a single-AZ database to save cost; staging and production are Multi-AZ.
  #checkov:skip=CKV_AWS_293:Deletion protection is rds_deletion_protection per environment: on in production, off in dev and staging so the runbook's destroy stage can remove them.
  identifier     = local.database_identifier
  engine         = "postgres"
  engine_version = var.rds_engine_version
  instance_class = var.rds_instance_class
  db_name        = var.project
  port           = 5432

  # The master password is generated and rotated by RDS in Secrets Manager: it is never a Terraform
  # input and never in the state. Applications authenticate with IAM (rds-db:connect).
  username                            = "${var.project}_admin"
  manage_master_user_password         = true
  master_user_secret_kms_key_id       = aws_kms_key.this.arn
  iam_database_authentication_enabled = true

  allocated_storage     = var.rds_allocated_storage_gb
  max_allocated_storage = var.rds_max_allocated_storage_gb
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = aws_kms_key.this.arn

  multi_az               = var.rds_multi_az
  db_subnet_group_name   = module.vpc.database_subnet_group_name
  vpc_security_group_ids = [aws_security_group.rds.id]
  publicly_accessible    = false
  parameter_group_name   = aws_db_parameter_group.this.name

  # Windows are UTC: 02:00-04:00 KST, outside Korean market hours.
  backup_retention_period    = var.rds_backup_retention_days
  backup_window              = "17:00-18:00"
  maintenance_window         = "sun:18:30-sun:19:30"
  auto_minor_version_upgrade = true
  copy_tags_to_snapshot      = true

  deletion_protection = var.rds_deletion_protection
  skip_final_snapshot = var.rds_skip_final_snapshot
  # Unique per database instance: the UTC time of the plan that created it (fixed by ignore_changes below), so
  # a second destroy of the environment does not collide with the first one's snapshot
  # (DBSnapshotAlreadyExists). Find and restore: terraform/aws/README.md, "Final database snapshots".
  final_snapshot_identifier = "${local.database_identifier}-final-${formatdate("YYYYMMDD-hhmmss", plantimestamp())}"

  enabled_cloudwatch_logs_exports       = ["postgresql", "upgrade"]
  performance_insights_enabled          = true
  performance_insights_kms_key_id       = aws_kms_key.this.arn
  performance_insights_retention_period = 7
  monitoring_interval                   = 60
  monitoring_role_arn                   = aws_iam_role.rds_enhanced_monitoring.arn

  depends_on = [aws_cloudwatch_log_group.this, aws_iam_role_policy.rds_enhanced_monitoring]

  lifecycle {
    # final_snapshot_identifier holds the creation time; without this every plan would change it.
    ignore_changes = [final_snapshot_identifier]

    precondition {
      condition     = var.rds_max_allocated_storage_gb >= var.rds_allocated_storage_gb
      error_message = "rds_max_allocated_storage_gb must be at least rds_allocated_storage_gb."
    }
  }
}

resource "aws_iam_role" "rds_enhanced_monitoring" {
  name                 = "${local.name}-rds-monitoring"
  assume_role_policy   = data.aws_iam_policy_document.rds_enhanced_monitoring_assume_role.json
  permissions_boundary = local.permissions_boundary_arn
}

data "aws_iam_policy_document" "rds_enhanced_monitoring_assume_role" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }
  }
}

# The permissions of the AWS managed AmazonRDSEnhancedMonitoringRole, limited to this account and region.
data "aws_iam_policy_document" "rds_enhanced_monitoring" {
  statement {
    sid       = "CreateOsMetricsLogGroup"
    actions   = ["logs:CreateLogGroup", "logs:PutRetentionPolicy"]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:RDS*"]
  }

  statement {
    sid = "WriteOsMetrics"
    actions = [
      "logs:CreateLogStream",
      "logs:DescribeLogStreams",
      "logs:GetLogEvents",
      "logs:PutLogEvents",
    ]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:RDS*:log-stream:*"]
  }
}

resource "aws_iam_role_policy" "rds_enhanced_monitoring" {
  name   = "enhanced-monitoring"
  role   = aws_iam_role.rds_enhanced_monitoring.id
  policy = data.aws_iam_policy_document.rds_enhanced_monitoring.json
}
