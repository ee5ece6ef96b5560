"""The AIPX stack's contract as the runbook relies on it, mirroring terraform/aws (locals.tf, outputs.tf and the
component files): tests/unit/test_contract.py reads the stack and fails when the two disagree.

One home for these facts: the plan review, the cost estimate, verify and the shutdown drill import them.
"""

from __future__ import annotations

# variable "project" (variables.tf): the first part of every resource name.
PROJECT = "aipx"

# The stack's components, one .tf file each (network.tf, streaming.tf, ...): what a plan review groups by.
COMPONENTS = ("network", "streaming", "cache", "database", "storage", "compute", "functions", "api")
# The cost estimate's lines: the components, plus the CloudWatch logs all of them write (logs.tf), priced apart.
COST_COMPONENTS = (*COMPONENTS, "logs")

# local.ecs_service_names (locals.tf): the ECS services every environment runs.
ECS_SERVICES = ("data-ingestion", "oms")
# local.lambda_function_names (locals.tf).
LAMBDA_FUNCTIONS = ("strategy-worker", "cognitive", "notification", "recorder")

# The outputs verify checks against the live API (outputs.tf): the endpoints the seed requires, then the ones
# that name what to check.
OUTPUTS = (
    "vpc_id",
    "public_subnets",
    "private_subnets",
    "kafka_bootstrap_brokers",
    "redis_endpoint",
    "database_endpoint",
    "oms_grpc_endpoint",
    "cognitive_api_url",
    "data_lake_bucket",
    "ecs_cluster_name",
    "ecs_service_names",
    "kafka_cluster_arn",
    "redis_replication_group_id",
    "database_instance_identifier",
    "database_master_user_secret_arn",
    "oms_service_discovery_namespace",
    "cognitive_api_id",
    "availability_zones",
)

# How a sensitive value is shown wherever the runbook shows one (plan review, state, outputs, reports).
MASK = "•••••••• (sensitive)"


def name_prefix(environment: str) -> str:
    """local.name, ``"${var.project}-${var.environment}"``: the prefix of every resource name."""
    return f"{PROJECT}-{environment}"


def ecs_cluster_name(environment: str) -> str:
    """local.ecs_cluster_name (compute.tf): the environment's ECS cluster."""
    return name_prefix(environment)
