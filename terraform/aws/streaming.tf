locals {
  kafka_replication_factor  = min(3, var.kafka_broker_count)
  kafka_min_insync_replicas = max(1, local.kafka_replication_factor - 1)

  kafka_server_properties = <<-PROPERTIES
    auto.create.topics.enable=false
    default.replication.factor=${local.kafka_replication_factor}
    min.insync.replicas=${local.kafka_min_insync_replicas}
    num.partitions=${var.kafka_broker_count}
    unclean.leader.election.enable=false
  PROPERTIES
  # A configuration supports the Kafka versions it was created for, and changing kafka_versions replaces it.
  # aws_msk_configuration has no name_prefix, so the name carries the version and a hash of the properties:
  # a new version gets a new configuration, created (create_before_destroy) and switched to by the cluster
  # before the old one, still in use until then, is deleted. MSK names: letters, digits and hyphens.
  kafka_configuration_name = join("-", [
    local.name,
    "kafka",
    replace(var.kafka_version, ".", "-"),
    substr(sha256(local.kafka_server_properties), 0, 8),
  ])
}

resource "aws_msk_configuration" "this" {
  name              = local.kafka_configuration_name
  description       = "Broker settings of ${local.name} (Kafka ${var.kafka_version})"
  kafka_versions    = [var.kafka_version]
  server_properties = local.kafka_server_properties

  lifecycle {
    create_before_destroy = true
  }
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
