"""Usage from a saved plan (``terraform show -json``): the resources it shows before or after, priced by kind,
and what could not be priced, with why."""

from __future__ import annotations

import re
from typing import Any

from . import usage
from .assumptions import Assumptions
from .model import Usage


def plan_resources(plan: dict[str, Any], state: str) -> list[dict[str, Any]]:
    """Managed resources with their values ``before`` (current) or ``after`` (planned) the plan."""
    found = []
    for change in plan.get("resource_changes", []):
        values = change.get("change", {}).get(state)
        if change.get("mode", "managed") == "managed" and values is not None:
            found.append({"address": change["address"], "type": change["type"], "values": values})
    return found


def usage_from_plan(plan: dict[str, Any], state: str, assumptions: Assumptions) -> tuple[list[Usage], list[str]]:
    """Usage of the resources a plan shows in ``state``, and what could not be priced (with why)."""
    resources = plan_resources(plan, state)
    of_type: dict[str, list[dict[str, Any]]] = {}
    for resource in resources:
        of_type.setdefault(resource["type"], []).append(resource)
    hours = assumptions.hours_per_month
    usages: list[Usage] = []
    unpriced: list[str] = []

    balancers = [r["values"].get("load_balancer_type", "application") for r in of_type.get("aws_lb", [])]
    endpoint_zones = 0
    for endpoint in of_type.get("aws_vpc_endpoint", []):
        if endpoint["values"].get("vpc_endpoint_type") == "Interface":
            subnets = endpoint["values"].get("subnet_ids")
            if subnets is None:
                unpriced.append(f"{endpoint['address']}: subnets unknown until apply; priced in one AZ")
            endpoint_zones += len(subnets) if subnets else 1
    usages += usage.network(
        len(of_type.get("aws_nat_gateway", [])),
        balancers.count("application"),
        balancers.count("network"),
        endpoint_zones,
        assumptions,
    )
    unpriced += [
        f"{r['address']}: {r['values']['load_balancer_type']} load balancers are not in the price table"
        for r in of_type.get("aws_lb", [])
        if r["values"].get("load_balancer_type") == "gateway"
    ]

    for cluster in of_type.get("aws_msk_cluster", []):
        values = cluster["values"]
        group = _first(values.get("broker_node_group_info"))
        usages += usage.msk(int(values["number_of_broker_nodes"]), group["instance_type"], _msk_volume(group), hours)

    for group in of_type.get("aws_elasticache_replication_group", []):
        values = group["values"]
        if values.get("num_node_groups"):
            nodes = int(values["num_node_groups"]) * (1 + int(values.get("replicas_per_node_group") or 0))
        else:
            nodes = int(values.get("num_cache_clusters") or 1)
        usages += usage.cache(nodes, values["node_type"], hours)
    for cache in of_type.get("aws_elasticache_cluster", []):
        if not cache["values"].get("replication_group_id"):
            usages += usage.cache(int(cache["values"].get("num_cache_nodes") or 1), cache["values"]["node_type"], hours)

    for database in of_type.get("aws_db_instance", []):
        values = database["values"]
        if values.get("engine", "postgres") != "postgres":
            unpriced.append(f"{database['address']}: engine {values['engine']} is not in the price table")
            continue
        usages += usage.database(
            values["instance_class"], bool(values.get("multi_az")), float(values.get("allocated_storage") or 0), hours
        )

    definitions = of_type.get("aws_ecs_task_definition", [])
    for service in of_type.get("aws_ecs_service", []):
        values = service["values"]
        definition = _task_definition_of(service, definitions)
        if definition is None:
            unpriced.append(f"{service['address']}: no task definition in the plan matches it")
            continue
        usages += usage.fargate(
            values.get("name", service["address"]),
            int(values.get("desired_count") or 0),
            int(definition["cpu"]),
            int(definition["memory"]),
            hours,
        )

    functions = of_type.get("aws_lambda_function", [])
    for function in functions:
        memory = float(function["values"].get("memory_size") or 128)
        name = function["values"].get("function_name", function["address"])
        architecture = (function["values"].get("architectures") or ["x86_64"])[0]
        for each in usage.functions(1, memory, architecture, assumptions):
            usages.append(Usage(each.component, f"{name}: {each.item}", each.price_key, each.quantity))

    api_types = {r["type"] for r in resources} & {"aws_apigatewayv2_api", "aws_api_gateway_rest_api"}
    if api_types:
        usages += usage.api(assumptions)
    if "aws_s3_bucket" in of_type:
        usages += usage.storage(assumptions)
    groups = of_type.get("aws_cloudwatch_log_group", [])
    if groups:
        retentions = [int(g["values"].get("retention_in_days") or 0) for g in groups]
        usages += usage.logs(0 if 0 in retentions else max(retentions), assumptions)
    return usages, unpriced


def _first(value: Any) -> dict[str, Any]:
    return (value[0] if value else {}) if isinstance(value, list) else (value or {})


def _msk_volume(group: dict[str, Any]) -> float:
    """Broker volume size from either provider schema (storage_info block, or the older ebs_volume_size)."""
    ebs = _first(_first(group.get("storage_info")).get("ebs_storage_info"))
    return float(ebs.get("volume_size") or group.get("ebs_volume_size") or 0)


def _task_definition_of(service: dict[str, Any], definitions: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The task definition a service runs: by the family in its (known) ARN, else by name."""
    reference = str(service["values"].get("task_definition") or "")
    family = re.sub(r":\d+$", "", reference.rsplit("/", 1)[-1])
    name = service["values"].get("name", "")
    candidates = [d["values"] for d in definitions if d["values"].get("cpu") and d["values"].get("memory")]
    for matches in (
        lambda d: family and d.get("family") == family,
        lambda d: name and d.get("family") == name,
        lambda d: name and str(d.get("family", "")).endswith(name),
    ):
        found = [d for d in candidates if matches(d)]
        if len(found) == 1:
            return found[0]
    return None


def spot_in_plan(plan: dict[str, Any]) -> bool:
    for resource in plan_resources(plan, "after"):
        if resource["type"] == "aws_ecs_service":
            strategies = resource["values"].get("capacity_provider_strategy") or []
            if any(s.get("capacity_provider") == "FARGATE_SPOT" and s.get("weight") for s in strategies):
                return True
    return False
