locals {
  kafka_replication_factor  = min(3, var.kafka_broker_count)
  kafka_min_insync_replicas = max(1, local.kafka_replication_factor - 1)
}

resource "aws_msk_configuration" "this" {
  name           = local.name
  description    = "Broker settings of ${local.name}"
  kafka_versions = [var.kafka_version]

  server_properties = <<-PROPERTIES
    auto.create.topics.enable=false
    default.replication.factor=${local.kafka_replication_factor}
    min.insync.replicas=${local.kafka_min_insync_replicas}
    num.partitions=${var.kafka_broker_count}
    unclean.leader.election.enable=false
  PROPERTIES
}

resource "aws_msk_cluster" "this" {
  cluster_name           = local.name
  kafka_version          = var.kafka_version
  number_of_broker_nodes = var.kafka_broker_count
  enhanced_monitoring    = "DEFAULT"

  broker_node_group_info {
    instance_type   = var.kafka_instance_type
    client_subnets  = module.vpc.database_subnets
    security_groups = [aws_security_group.msk.id]

    storage_info {
      ebs_storage_info {
        volume_size = var.kafka_ebs_volume_size_gb
      }
    }

    connectivity_info {
      public_access {
        type = "DISABLED"
      }
    }
  }

  client_authentication {
    unauthenticated = false

    sasl {
      iam = true
    }
  }

  encryption_info {
    encryption_at_rest_kms_key_arn = aws_kms_key.this.arn

    encryption_in_transit {
      client_broker = "TLS"
      in_cluster    = true
    }
  }

  configuration_info {
    arn      = aws_msk_configuration.this.arn
    revision = aws_msk_configuration.this.latest_revision
  }

  logging_info {
    broker_logs {
      cloudwatch_logs {
        enabled   = true
        log_group = aws_cloudwatch_log_group.this["msk-broker"].name
      }
    }
  }

  lifecycle {
    precondition {
      condition     = var.kafka_broker_count % var.availability_zone_count == 0
      error_message = "kafka_broker_count (${var.kafka_broker_count}) must be a multiple of availability_zone_count (${var.availability_zone_count}): MSK places the same number of brokers in every client subnet."
    }
  }
}
