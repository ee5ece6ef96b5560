"""Usage from an environment's sizing: the variables of its aws.tfvars that decide what runs, every hour."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import config
from ..contract import ECS_SERVICES
from ..errors import RunbookError
from . import usage
from .assumptions import Assumptions
from .model import Usage

SIZING_VARIABLES = (
    "availability_zone_count",
    "single_nat_gateway",
    "kafka_instance_type",
    "kafka_broker_count",
    "kafka_ebs_volume_size_gb",
    "redis_node_type",
    "redis_num_node_groups",
    "redis_replicas_per_node_group",
    "rds_instance_class",
    "rds_multi_az",
    "rds_allocated_storage_gb",
    "fargate_cpu",
    "fargate_memory",
    "data_ingestion_desired_count",
    "oms_desired_count",
    "use_fargate_spot",
    "lambda_memory_mb",
    "log_retention_days",
)


def read_sizing(path: Path) -> dict[str, Any]:
    """The sizing variables of an environment's tfvars; every one must be there."""
    if not path.is_file():
        raise RunbookError("read the sizing", f"{path} does not exist", "write the environment's aws.tfvars first")
    variables = config.read_tfvars(path)
    missing = [name for name in SIZING_VARIABLES if name not in variables]
    if missing:
        raise RunbookError(
            "read the sizing", f"{path} lacks {', '.join(missing)}", f"add the missing variables to {path}"
        )
    return variables


def cache_nodes(sizing: dict[str, Any]) -> int:
    """ElastiCache nodes: node groups × (1 primary + replicas per group)."""
    return int(sizing["redis_num_node_groups"]) * (1 + int(sizing["redis_replicas_per_node_group"]))


def usage_from_sizing(sizing: dict[str, Any], assumptions: Assumptions) -> list[Usage]:
    hours = assumptions.hours_per_month
    zones = int(sizing["availability_zone_count"])
    nat_gateways = 1 if sizing["single_nat_gateway"] else zones
    usages = usage.network(
        nat_gateways,
        assumptions.application_load_balancers,
        assumptions.network_load_balancers,
        assumptions.interface_endpoints * zones,
        assumptions,
    )
    brokers, broker_type = int(sizing["kafka_broker_count"]), sizing["kafka_instance_type"]
    volume = float(sizing["kafka_ebs_volume_size_gb"])
    usages += usage.msk(brokers, broker_type, volume, hours)
    usages += usage.cache(cache_nodes(sizing), sizing["redis_node_type"], hours)
    usages += usage.database(
        sizing["rds_instance_class"], bool(sizing["rds_multi_az"]), float(sizing["rds_allocated_storage_gb"]), hours
    )
    # contract.ECS_SERVICES in the order of their desired-count variables
    counts = (sizing["data_ingestion_desired_count"], sizing["oms_desired_count"])
    for service, count in zip(ECS_SERVICES, counts, strict=True):
        usages += usage.fargate(service, int(count), int(sizing["fargate_cpu"]), int(sizing["fargate_memory"]), hours)
    usages += usage.functions(
        assumptions.function_count, float(sizing["lambda_memory_mb"]), assumptions.function_architecture, assumptions
    )
    usages += usage.api(assumptions)
    usages += usage.storage(assumptions)
    usages += usage.logs(int(sizing["log_retention_days"]), assumptions)
    return usages
