# Data-plane permissions of the six workloads (two ECS services, four Lambdas), from local.workload_access.
# Kafka and Redis authenticate with IAM, PostgreSQL with IAM database authentication (database user named
# after the workload, e.g. "data_ingestion", created in Phase 2 with GRANT rds_iam), so no workload holds
# a password.

locals {
  # Every role of the stack carries this boundary, created once by an administrator from
  # iam-permissions-boundary.json; the operator policy refuses role changes without it (README, "IAM").
  permissions_boundary_arn = "arn:${local.partition}:iam::${local.account_id}:policy/${var.project}-workload-boundary"

  # MSK ARNs are <type>/<cluster name>/<cluster UUID>[/<name>]: scoped by the cluster's name, built from it
  # rather than read from the cluster, so the workloads' permissions do not wait for (or depend on) the
  # cluster, which takes 25-40 minutes to create. The same for the Redis replication group and user.
  kafka_arn_prefix          = "arn:${local.partition}:kafka:${local.region}:${local.account_id}"
  kafka_cluster_arn_pattern = "${local.kafka_arn_prefix}:cluster/${local.name}/*"
  kafka_topic_arn_pattern   = "${local.kafka_arn_prefix}:topic/${local.name}/*/*"
  kafka_group_arn_pattern   = "${local.kafka_arn_prefix}:group/${local.name}/*/*"
  elasticache_arn_prefix    = "arn:${local.partition}:elasticache:${local.region}:${local.account_id}"

  workload_role_names = merge(
    { for service in local.ecs_service_names : service => aws_iam_role.ecs_task[service].name },
    { for function in local.lambda_function_names : function => aws_iam_role.lambda[function].name },
  )
}

data "aws_iam_policy_document" "workload_data_access" {
  for_each = local.workload_access

  dynamic "statement" {
    for_each = contains(each.value, "kafka") ? [1] : []

    content {
      sid = "KafkaCluster"
      # WriteDataIdempotently: producers with idempotence on (the default of every Kafka client >= 3.0).
      actions   = ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster", "kafka-cluster:WriteDataIdempotently"]
      resources = [local.kafka_cluster_arn_pattern]
    }
  }

  dynamic "statement" {
    for_each = contains(each.value, "kafka") ? [1] : []

    content {
      sid = "KafkaTopics"
      actions = [
        "kafka-cluster:CreateTopic",
        "kafka-cluster:DescribeTopic",
        "kafka-cluster:ReadData",
        "kafka-cluster:WriteData",
      ]
      resources = [local.kafka_topic_arn_pattern]
    }
  }

  dynamic "statement" {
    for_each = contains(each.value, "kafka") ? [1] : []

    content {
      sid       = "KafkaConsumerGroups"
      actions   = ["kafka-cluster:AlterGroup", "kafka-cluster:DescribeGroup"]
      resources = [local.kafka_group_arn_pattern]
    }
  }

  dynamic "statement" {
    for_each = contains(each.value, "redis") ? [1] : []

    content {
      sid     = "RedisIamAuthentication"
      actions = ["elasticache:Connect"]
      resources = [
        "${local.elasticache_arn_prefix}:replicationgroup:${local.name}",
        "${local.elasticache_arn_prefix}:user:${local.redis_app_user}",
      ]
    }
  }

  dynamic "statement" {
    for_each = contains(each.value, "database") ? [1] : []

    content {
      sid     = "PostgresIamAuthentication"
      actions = ["rds-db:connect"]
      resources = [
        "arn:${local.partition}:rds-db:${local.region}:${local.account_id}:dbuser:${aws_db_instance.this.resource_id}/${replace(each.key, "-", "_")}",
      ]
    }
  }

  dynamic "statement" {
    for_each = contains(each.value, "data_lake") ? [1] : []

    content {
      sid       = "DataLakeList"
      actions   = ["s3:ListBucket"]
      resources = [aws_s3_bucket.data_lake.arn]
    }
  }

  dynamic "statement" {
    for_each = contains(each.value, "data_lake") ? [1] : []

    content {
      sid       = "DataLakeObjects"
      actions   = ["s3:GetObject", "s3:PutObject"]
      resources = ["${aws_s3_bucket.data_lake.arn}/*"]
    }
  }

  dynamic "statement" {
    for_each = contains(each.value, "data_lake") ? [1] : []

    content {
      sid       = "DataLakeEncryptionKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [aws_kms_key.this.arn]
    }
  }
}

resource "aws_iam_role_policy" "workload_data_access" {
  for_each = local.workload_access

  name   = "data-access"
  role   = local.workload_role_names[each.key]
  policy = data.aws_iam_policy_document.workload_data_access[each.key].json
}
