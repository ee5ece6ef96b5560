"""Monthly cost estimate per environment, before anything is applied.

Usage comes from the environment's sizing (aws.tfvars) or from a saved plan (``terraform show -json``),
plus the usage assumptions in environments/<env>/cost-assumptions.toml; prices come from the dated
price table (:mod:`aipx_runbook.prices`). Scenarios apply the commitment discounts the seed names.
"""

from __future__ import annotations

import base64
import io
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import config, filecache, plans, prices
from .context import StageContext
from .errors import RunbookError
from .prices import Price, PriceTable
from .results import Report, Table
from .timings import measure

COMPONENTS = ("network", "streaming", "cache", "database", "storage", "compute", "functions", "api", "logs")
ASSUMPTIONS_FILE = "cost-assumptions.toml"
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
SERVICES = ("data-ingestion", "oms")
NOT_COVERED = (
    "Not in the estimate: data transfer (between AZs and out to the internet), KMS keys, Secrets Manager, ECR, "
    "SQS, Cloud Map, backups beyond the free allowance, the AWS support plan, free tiers, and tax (Korean VAT adds "
    "10%). Also not priced, as they depend on traffic no setting fixes: X-Ray traces (every Lambda traces "
    "actively: $5.00 per million traces recorded beyond 100,000 free a month) and ECS Container Insights "
    "(on in every cluster: billed as CloudWatch custom metrics, about a dozen per task and service, plus the "
    "ingestion of its performance log group, beyond the logs volume assumed here), CloudWatch alarms and "
    "dashboards."
)
# How each price was obtained, as the line items show it: a list price, or one derived from other prices.
BASIS_LABELS = {
    "transcribed": "list",
    "price-list-api": "list (Price List API)",
    "derived": "derived",
    "approximate": "approximate",
}


@dataclass(frozen=True)
class Assumptions:
    """environments/<env>/cost-assumptions.toml: the usage neither tfvars nor a plan knows."""

    path: Path
    hours_per_month: float
    nat_processed_gb: float
    application_load_balancers: int
    network_load_balancers: int
    capacity_units_per_load_balancer: float
    interface_endpoints: int
    endpoint_processed_gb: float
    data_lake_gb: float
    logs_ingested_gb: float
    function_count: int
    invocations_per_function: float
    average_duration_ms: float
    function_architecture: str
    api_kind: str
    api_requests: float

    @property
    def days_per_month(self) -> float:
        return self.hours_per_month / 24


# (section, key in the file) → field of Assumptions
ASSUMPTION_KEYS = {
    ("", "hours_per_month"): "hours_per_month",
    ("network", "nat_processed_gb"): "nat_processed_gb",
    ("network", "application_load_balancers"): "application_load_balancers",
    ("network", "network_load_balancers"): "network_load_balancers",
    ("network", "capacity_units_per_load_balancer"): "capacity_units_per_load_balancer",
    ("network", "interface_endpoints"): "interface_endpoints",
    ("network", "endpoint_processed_gb"): "endpoint_processed_gb",
    ("storage", "data_lake_gb"): "data_lake_gb",
    ("logs", "ingested_gb"): "logs_ingested_gb",
    ("functions", "count"): "function_count",
    ("functions", "invocations_per_function"): "invocations_per_function",
    ("functions", "average_duration_ms"): "average_duration_ms",
    ("functions", "architecture"): "function_architecture",
    ("api", "kind"): "api_kind",
    ("api", "requests"): "api_requests",
}
CHOICES = {"api_kind": ("http", "rest"), "function_architecture": ("arm64", "x86_64")}


@filecache.by_content
def load_assumptions(path: Path) -> Assumptions:
    if not path.is_file():
        raise RunbookError(
            "read the cost assumptions",
            f"{path} does not exist",
            f"copy environments/dev/{ASSUMPTIONS_FILE} to {path} and adjust the usage numbers",
        )
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise RunbookError("read the cost assumptions", f"{path} is not valid TOML: {error}", f"fix {path}") from error
    values: dict[str, Any] = {}
    problems = []
    for (section, key), name in ASSUMPTION_KEYS.items():
        table = raw.get(section, {}) if section else raw
        label = f"[{section}] {key}" if section else key
        if key not in table:
            problems.append(f"{label} is missing")
        elif name in CHOICES:
            if table[key] not in CHOICES[name]:
                problems.append(f"{label} must be one of {', '.join(CHOICES[name])}, not {table[key]!r}")
            values[name] = table[key]
        elif isinstance(table[key], bool) or not isinstance(table[key], int | float) or table[key] < 0:
            problems.append(f"{label} must be a number ≥ 0, not {table[key]!r}")
        else:
            values[name] = table[key]
    sections = {section for section, _ in ASSUMPTION_KEYS if section}
    for name, value in raw.items():
        if name in sections:
            expected = {key for section, key in ASSUMPTION_KEYS if section == name}
            problems += [
                f"[{name}] {key} is not an assumption this estimate knows" for key in value if key not in expected
            ]
        elif ("", name) not in ASSUMPTION_KEYS:
            problems.append(f"{name} is not an assumption this estimate knows")
    if problems:
        raise RunbookError(
            "read the cost assumptions",
            f"{path} has {len(problems)} problem(s)",
            f"fix {path} (environments/dev/{ASSUMPTIONS_FILE} shows every key)",
            details="\n".join(problems),
        )
    return Assumptions(path=path, **values)


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


@dataclass(frozen=True)
class Usage:
    """One priced quantity a month: ``quantity`` is in the unit of the price at ``price_key``."""

    component: str
    item: str
    price_key: str
    quantity: float
    commitment: str = ""  # the commitment discount that can apply: rds, elasticache or fargate


@dataclass(frozen=True)
class LineItem:
    usage: Usage
    price: Price

    @property
    def monthly_usd(self) -> float:
        return self.usage.quantity * self.price.value


@dataclass(frozen=True)
class Scenario:
    name: str
    label: str
    discounts: dict[str, str]  # commitment → discount key in the price table


SCENARIOS = (
    Scenario("on_demand", "On-demand", {}),
    Scenario(
        "reserved_1yr",
        "1-year Reserved Instances (RDS, ElastiCache)",
        {"rds": "discount.rds_reserved_1yr", "elasticache": "discount.elasticache_reserved_1yr"},
    ),
    Scenario(
        "fargate_savings_plan",
        "1-year Compute Savings Plan (Fargate)",
        {"fargate": "discount.fargate_savings_plan_1yr"},
    ),
    Scenario("fargate_spot", "Fargate Spot", {"fargate": "discount.fargate_spot"}),
    Scenario(
        "optimised",
        "Reserved Instances + Savings Plan",
        {
            "rds": "discount.rds_reserved_1yr",
            "elasticache": "discount.elasticache_reserved_1yr",
            "fargate": "discount.fargate_savings_plan_1yr",
        },
    ),
)
# What the seed's cost tips claim for each discount: its best rate, and its words.
SEED_CLAIMS = {
    "discount.rds_reserved_1yr": (0.60, "the seed quotes 40-60% for Reserved Instances"),
    "discount.elasticache_reserved_1yr": (0.60, "the seed quotes 40-60% for Reserved Instances"),
    "discount.fargate_savings_plan_1yr": (0.17, "the seed quotes 17% for a 1-year Savings Plan"),
    "discount.fargate_spot": (0.70, "the seed quotes up to 70% for Fargate Spot"),
}
SCENARIOS_BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}


@dataclass(frozen=True)
class SeedExpectation:
    """What the seed README says an environment costs, and the sizing it says that buys."""

    low_usd: float
    high_usd: float
    wording: str
    sizing: dict[str, Any]


SEED = {
    "dev": SeedExpectation(
        300,
        400,
        "~$300-400/month",
        {
            "kafka_instance_type": "kafka.t3.small",
            "kafka_broker_count": 1,
            "redis_node_type": "cache.t3.micro",
            "redis_nodes": 1,
            "rds_instance_class": "db.t3.micro",
            "rds_multi_az": False,
            "fargate_cpu": 256,
            "fargate_memory": 512,
        },
    ),
    "production": SeedExpectation(
        1500,
        1800,
        "~$1,500-1,800/month (after optimisation)",
        {
            "kafka_instance_type": "kafka.m5.large",
            "kafka_broker_count": 3,
            "redis_node_type": "cache.r6g.large",
            "redis_nodes": 6,
            "rds_instance_class": "db.r6g.xlarge",
            "rds_multi_az": True,
            "fargate_cpu": 1024,
            "fargate_memory": 2048,
        },
    ),
}


@dataclass
class Estimate:
    environment: str
    basis: str
    lines: list[LineItem]
    table: PriceTable
    assumptions: Assumptions
    sizing: dict[str, Any] = field(default_factory=dict)
    fargate_spot_configured: bool = False
    unpriced: list[str] = field(default_factory=list)

    @property
    def on_demand(self) -> float:
        return sum(line.monthly_usd for line in self.lines)

    def by_component(self) -> dict[str, float]:
        totals = dict.fromkeys(COMPONENTS, 0.0)
        for line in self.lines:
            totals[line.usage.component] += line.monthly_usd
        return totals

    def total(self, scenario: Scenario) -> float:
        return self.total_at({commitment: self.table.get(key).value for commitment, key in scenario.discounts.items()})

    def total_at(self, discounts: dict[str, float]) -> float:
        """The monthly total with ``discounts`` (commitment → fraction off) applied to what each covers."""
        return sum(line.monthly_usd * (1 - discounts.get(line.usage.commitment, 0.0)) for line in self.lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "on_demand_monthly_usd": round(self.on_demand, 2),
            "basis": self.basis,
            "price_table": self.table.describe(),
            "price_table_date": self.table.date,
            "assumptions": _relative(self.assumptions.path),
            "components": {name: round(value, 2) for name, value in self.by_component().items()},
            "scenarios": {
                s.name: {
                    "label": s.label,
                    "monthly_usd": round(self.total(s), 2),
                    "saving_usd": round(self.on_demand - self.total(s), 2),
                    "seed_range_usd": _seed_range(self.environment),
                    "versus_seed": versus_seed(self.environment, self.total(s)),
                    "explanation": explain(self, s),
                }
                for s in SCENARIOS
            },
            "line_items": [
                {
                    "component": line.usage.component,
                    "item": line.usage.item,
                    "quantity": round(line.usage.quantity, 6),
                    "unit": line.price.unit,
                    "unit_price": line.price.value,
                    "monthly_usd": round(line.monthly_usd, 2),
                    "price_key": line.price.key,
                    "price_basis": BASIS_LABELS.get(line.price.basis, line.price.basis),
                }
                for line in self.lines
            ],
            "unpriced": self.unpriced,
            "on_demand_usd_by_price_basis": self.by_price_basis(),
        }

    def by_price_basis(self) -> dict[str, float]:
        """How much of the on-demand total rests on list prices and how much on derived ones."""
        totals: dict[str, float] = {}
        for line in self.lines:
            label = BASIS_LABELS.get(line.price.basis, line.price.basis)
            totals[label] = round(totals.get(label, 0.0) + line.monthly_usd, 2)
        return totals


def price(
    environment: str,
    basis: str,
    usages: Iterable[Usage],
    table: PriceTable,
    assumptions: Assumptions,
    **details: Any,
) -> Estimate:
    lines = [LineItem(usage, table.get(usage.price_key)) for usage in usages if usage.quantity]
    return Estimate(environment, basis, lines, table, assumptions, **details)


# ---- usage from the sizing (aws.tfvars) -------------------------------------------------------------------


def usage_from_sizing(sizing: dict[str, Any], assumptions: Assumptions) -> list[Usage]:
    hours = assumptions.hours_per_month
    zones = int(sizing["availability_zone_count"])
    nat_gateways = 1 if sizing["single_nat_gateway"] else zones
    usages = _network_usage(
        nat_gateways,
        assumptions.application_load_balancers,
        assumptions.network_load_balancers,
        assumptions.interface_endpoints * zones,
        assumptions,
    )
    brokers, broker_type = int(sizing["kafka_broker_count"]), sizing["kafka_instance_type"]
    volume = float(sizing["kafka_ebs_volume_size_gb"])
    usages += _msk_usage(brokers, broker_type, volume, hours)
    nodes = int(sizing["redis_num_node_groups"]) * (1 + int(sizing["redis_replicas_per_node_group"]))
    usages += _cache_usage(nodes, sizing["redis_node_type"], hours)
    usages += _database_usage(
        sizing["rds_instance_class"], bool(sizing["rds_multi_az"]), float(sizing["rds_allocated_storage_gb"]), hours
    )
    for service, count in zip(
        SERVICES, (sizing["data_ingestion_desired_count"], sizing["oms_desired_count"]), strict=True
    ):
        usages += _fargate_usage(service, int(count), int(sizing["fargate_cpu"]), int(sizing["fargate_memory"]), hours)
    usages += _lambda_usage(
        assumptions.function_count, float(sizing["lambda_memory_mb"]), assumptions.function_architecture, assumptions
    )
    usages += _api_usage(assumptions)
    usages += _storage_usage(assumptions)
    usages += _logs_usage(int(sizing["log_retention_days"]), assumptions)
    return usages


def _network_usage(
    nat_gateways: int, albs: int, nlbs: int, endpoint_zones: int, assumptions: Assumptions
) -> list[Usage]:
    hours, units = assumptions.hours_per_month, assumptions.capacity_units_per_load_balancer
    usages = [Usage("network", f"{nat_gateways} × NAT gateway", "nat_gateway.hour", nat_gateways * hours)]
    if nat_gateways:
        usages.append(Usage("network", "NAT data processed", "nat_gateway.gb", assumptions.nat_processed_gb))
        # Each public NAT gateway holds an Elastic IP: a public IPv4 address, billed by the hour since 2024.
        usages.append(
            Usage("network", f"{nat_gateways} × public IPv4 (NAT EIP)", "vpc.public_ipv4.hour", nat_gateways * hours)
        )
    for kind, count in (("alb", albs), ("nlb", nlbs)):
        name = "application" if kind == "alb" else "network"
        usages.append(Usage("network", f"{count} × {name} load balancer", f"{kind}.hour", count * hours))
        usages.append(Usage("network", f"{name} LB capacity units", f"{kind}.lcu_hour", count * units * hours))
    usages.append(
        Usage(
            "network",
            f"interface endpoints ({endpoint_zones} endpoint-AZs)",
            "vpc_endpoint.hour",
            endpoint_zones * hours,
        )
    )
    if endpoint_zones:
        usages.append(Usage("network", "endpoint data processed", "vpc_endpoint.gb", assumptions.endpoint_processed_gb))
    return usages


def _msk_usage(brokers: int, broker_type: str, volume_gb: float, hours: float) -> list[Usage]:
    return [
        Usage("streaming", f"{brokers} × {broker_type} broker", f"msk.broker_hour.{broker_type}", brokers * hours),
        Usage("streaming", f"broker storage {brokers} × {volume_gb:g} GB", "msk.storage_gb_month", brokers * volume_gb),
    ]


def _cache_usage(nodes: int, node_type: str, hours: float) -> list[Usage]:
    return [
        Usage(
            "cache", f"{nodes} × {node_type} node", f"elasticache.node_hour.{node_type}", nodes * hours, "elasticache"
        )
    ]


def _database_usage(instance_class: str, multi_az: bool, storage_gb: float, hours: float) -> list[Usage]:
    deployment = "multi_az" if multi_az else "single_az"
    label = "Multi-AZ" if multi_az else "Single-AZ"
    return [
        Usage("database", f"{instance_class} {label}", f"rds.postgresql.{deployment}.{instance_class}", hours, "rds"),
        Usage("database", f"storage {storage_gb:g} GB {label}", f"rds.storage.{deployment}.gb_month", storage_gb),
    ]


def _fargate_usage(service: str, tasks: int, cpu_units: int, memory_mib: int, hours: float) -> list[Usage]:
    vcpu, memory_gb = cpu_units / 1024, memory_mib / 1024
    return [
        Usage("compute", f"{service}: {tasks} × {vcpu:g} vCPU", "fargate.vcpu_hour", tasks * vcpu * hours, "fargate"),
        Usage(
            "compute", f"{service}: {tasks} × {memory_gb:g} GB", "fargate.gb_hour", tasks * memory_gb * hours, "fargate"
        ),
    ]


def _lambda_usage(functions: int, memory_mb: float, architecture: str, assumptions: Assumptions) -> list[Usage]:
    invocations = functions * assumptions.invocations_per_function
    gb_seconds = invocations * assumptions.average_duration_ms / 1000 * memory_mb / 1024
    return [
        Usage(
            "functions",
            f"{functions} functions × {assumptions.invocations_per_function:,.0f} requests",
            "lambda.requests_million",
            invocations / 1e6,
        ),
        Usage(
            "functions",
            f"duration at {memory_mb:g} MB {architecture} × {assumptions.average_duration_ms:g} ms",
            f"lambda.gb_second.{architecture}",
            gb_seconds,
        ),
    ]


def _api_usage(assumptions: Assumptions) -> list[Usage]:
    return [
        Usage(
            "api",
            f"{assumptions.api_kind.upper()} API requests",
            f"apigateway.{assumptions.api_kind}.requests_million",
            assumptions.api_requests / 1e6,
        )
    ]


def _storage_usage(assumptions: Assumptions) -> list[Usage]:
    return [Usage("storage", "S3 data lake", "s3.standard.gb_month", assumptions.data_lake_gb)]


def _logs_usage(retention_days: int, assumptions: Assumptions) -> list[Usage]:
    """Stored logs at steady state; retention 0 means never expire, priced here after one year."""
    kept_days = retention_days or 365
    stored = assumptions.logs_ingested_gb * kept_days / assumptions.days_per_month
    label = f"{retention_days} days" if retention_days else "never expire (priced after a year)"
    return [
        Usage("logs", "CloudWatch Logs ingested", "cloudwatch.logs.ingest_gb", assumptions.logs_ingested_gb),
        Usage("logs", f"CloudWatch Logs stored, retention {label}", "cloudwatch.logs.storage_gb_month", stored),
    ]


# ---- usage from a saved plan (terraform show -json) -------------------------------------------------------


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
    usages += _network_usage(
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
        usages += _msk_usage(int(values["number_of_broker_nodes"]), group["instance_type"], _msk_volume(group), hours)

    for group in of_type.get("aws_elasticache_replication_group", []):
        values = group["values"]
        if values.get("num_node_groups"):
            nodes = int(values["num_node_groups"]) * (1 + int(values.get("replicas_per_node_group") or 0))
        else:
            nodes = int(values.get("num_cache_clusters") or 1)
        usages += _cache_usage(nodes, values["node_type"], hours)
    for cache in of_type.get("aws_elasticache_cluster", []):
        if not cache["values"].get("replication_group_id"):
            usages += _cache_usage(
                int(cache["values"].get("num_cache_nodes") or 1), cache["values"]["node_type"], hours
            )

    for database in of_type.get("aws_db_instance", []):
        values = database["values"]
        if values.get("engine", "postgres") != "postgres":
            unpriced.append(f"{database['address']}: engine {values['engine']} is not in the price table")
            continue
        usages += _database_usage(
            values["instance_class"], bool(values.get("multi_az")), float(values.get("allocated_storage") or 0), hours
        )

    definitions = of_type.get("aws_ecs_task_definition", [])
    for service in of_type.get("aws_ecs_service", []):
        values = service["values"]
        definition = _task_definition_of(service, definitions)
        if definition is None:
            unpriced.append(f"{service['address']}: no task definition in the plan matches it")
            continue
        usages += _fargate_usage(
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
        for usage in _lambda_usage(1, memory, architecture, assumptions):
            usages.append(Usage(usage.component, f"{name}: {usage.item}", usage.price_key, usage.quantity))

    api_types = {r["type"] for r in resources} & {"aws_apigatewayv2_api", "aws_api_gateway_rest_api"}
    if api_types:
        usages += _api_usage(assumptions)
    if "aws_s3_bucket" in of_type:
        usages += _storage_usage(assumptions)
    groups = of_type.get("aws_cloudwatch_log_group", [])
    if groups:
        retentions = [int(g["values"].get("retention_in_days") or 0) for g in groups]
        usages += _logs_usage(0 if 0 in retentions else max(retentions), assumptions)
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


def _spot_in_plan(plan: dict[str, Any]) -> bool:
    for resource in plan_resources(plan, "after"):
        if resource["type"] == "aws_ecs_service":
            strategies = resource["values"].get("capacity_provider_strategy") or []
            if any(s.get("capacity_provider") == "FARGATE_SPOT" and s.get("weight") for s in strategies):
                return True
    return False


# ---- estimates per environment ----------------------------------------------------------------------------


def estimate(environment: str, plan: dict[str, Any] | None = None, state: str = "after") -> Estimate:
    """The monthly estimate of one environment: from its tfvars, or from a saved plan's ``state``."""
    settings = config.load_environment(environment)
    table = prices.load(settings.region)
    assumptions = load_assumptions(settings.directory / ASSUMPTIONS_FILE)
    if plan is not None:
        usages, unpriced = usage_from_plan(plan, state, assumptions)
        basis = "saved plan, " + ("planned state" if state == "after" else "current state")
        return price(
            environment,
            basis,
            usages,
            table,
            assumptions,
            unpriced=unpriced,
            fargate_spot_configured=_spot_in_plan(plan),
        )
    sizing = read_sizing(settings.tfvars)
    basis = str(settings.tfvars.relative_to(config.project_root()))
    return price(
        environment,
        basis,
        usage_from_sizing(sizing, assumptions),
        table,
        assumptions,
        sizing=sizing,
        fargate_spot_configured=bool(sizing["use_fargate_spot"]),
    )


def estimate_all(environments: Iterable[str]) -> list[Estimate]:
    return [estimate(name) for name in environments]


# ---- comparing with the seed ------------------------------------------------------------------------------


def _seed_range(environment: str) -> list[float] | None:
    seed = SEED.get(environment)
    return [seed.low_usd, seed.high_usd] if seed else None


def versus_seed(environment: str, monthly: float) -> str:
    seed = SEED.get(environment)
    if seed is None:
        return "the seed gives no figure"
    if monthly < seed.low_usd:
        return f"${seed.low_usd - monthly:,.0f} below"
    if monthly > seed.high_usd:
        return f"${monthly - seed.high_usd:,.0f} above"
    return "within"


def _sizing_differences(environment: str, sizing: dict[str, Any]) -> list[str]:
    seed = SEED.get(environment)
    if seed is None or not sizing:
        return []
    ours = dict(sizing)
    ours["redis_nodes"] = int(sizing["redis_num_node_groups"]) * (1 + int(sizing["redis_replicas_per_node_group"]))
    return [f"{name} {ours[name]} (seed: {value})" for name, value in seed.sizing.items() if ours[name] != value]


def explain(estimate: Estimate, scenario: Scenario) -> str:
    """Why this scenario's figure sits where it does against the seed's range, from the numbers themselves."""
    total = estimate.total(scenario)
    seed = SEED.get(estimate.environment)
    position = versus_seed(estimate.environment, total)
    if seed:
        parts = [
            f"${total:,.0f} is {position} the seed's {seed.wording}"
            if position != "within"
            else f"${total:,.0f} is within the seed's {seed.wording}"
        ]
    else:
        parts = [f"${total:,.0f}; the seed gives no figure for {estimate.environment}"]
    for commitment, key in scenario.discounts.items():
        discount = estimate.table.get(key)
        covered = sum(line.monthly_usd for line in estimate.lines if line.usage.commitment == commitment)
        parts.append(f"{commitment} {discount.value:.0%} off ${covered:,.0f} ({SEED_CLAIMS[key][1]})")
    if scenario.discounts:
        best = {commitment: SEED_CLAIMS[key][0] for commitment, key in scenario.discounts.items()}
        rates = ", ".join(f"{commitment} {rate:.0%}" for commitment, rate in best.items())
        parts.append(f"at the seed's best rates ({rates}) it would be ${estimate.total_at(best):,.0f}")
    if scenario.name == "fargate_spot" and estimate.fargate_spot_configured:
        parts.append("the stack already asks for Fargate Spot, so this is the configured state")
    components = sorted(estimate.by_component().items(), key=lambda item: item[1], reverse=True)[:3]
    parts.append("largest on-demand items: " + ", ".join(f"{name} ${value:,.0f}" for name, value in components))
    differences = _sizing_differences(estimate.environment, estimate.sizing)
    if differences:
        seed_total = _at_seed_sizing(estimate).total(scenario)
        parts.append(
            f"sizing differs from the seed's: {', '.join(differences)}; "
            f"the seed's sizing priced the same way comes to ${seed_total:,.0f}"
        )
    return "; ".join(parts)


def _at_seed_sizing(estimate: Estimate) -> Estimate:
    """The same estimate with the sizing the seed describes for the environment."""
    described = dict(SEED[estimate.environment].sizing)
    nodes = described.pop("redis_nodes")
    sizing = {**estimate.sizing, **described, "redis_num_node_groups": nodes, "redis_replicas_per_node_group": 0}
    usages = usage_from_sizing(sizing, estimate.assumptions)
    return price(estimate.environment, "the seed's sizing", usages, estimate.table, estimate.assumptions, sizing=sizing)


# ---- reports ----------------------------------------------------------------------------------------------


def report(estimates: list[Estimate], chart: bool = True) -> Report:
    """Every environment's estimate: scenarios beside the seed's range, components, line items."""
    scenario_rows, notes = [], []
    for est in estimates:
        for scenario in SCENARIOS:
            total = est.total(scenario)
            seed = _seed_range(est.environment)
            scenario_rows.append(
                [
                    est.environment,
                    scenario.label,
                    f"{total:,.2f}",
                    f"{est.on_demand - total:,.2f}",
                    f"{seed[0]:,.0f}-{seed[1]:,.0f}" if seed else "—",
                    versus_seed(est.environment, total),
                ]
            )
            notes.append(f"{est.environment}, {scenario.label}: {explain(est, scenario)}")
    component_rows = [[name] + [f"{est.by_component()[name]:,.2f}" for est in estimates] for name in COMPONENTS] + [
        ["total"] + [f"{est.on_demand:,.2f}" for est in estimates]
    ]
    item_rows = [
        [
            est.environment,
            line.usage.component,
            line.usage.item,
            f"{line.usage.quantity:,.2f}",
            line.price.unit,
            _decimal(line.price.value),
            BASIS_LABELS.get(line.price.basis, line.price.basis),
            f"{line.monthly_usd:,.2f}",
        ]
        for est in estimates
        for line in est.lines
    ]
    tables = {est.table.describe() for est in estimates}
    header = [f"Prices: {', '.join(sorted(tables))}. {estimates[0].table.note}" if estimates else ""]
    header += [
        f"{est.environment}: sizing from {est.basis}; usage assumptions from {_relative(est.assumptions.path)}"
        for est in estimates
    ]
    header += [f"{est.environment}: not priced: {item}" for est in estimates for item in est.unpriced]
    header += [
        f"{est.environment}: of ${est.on_demand:,.0f} on demand, "
        + ", ".join(f"${usd:,.0f} rests on {label} prices" for label, usd in est.by_price_basis().items())
        for est in estimates
    ]
    header.append(NOT_COVERED)
    return Report(
        "Monthly cost estimate",
        "info",
        "; ".join(f"{est.environment} ${est.on_demand:,.0f}/month on demand" for est in estimates)
        + (f" (prices dated {min(est.table.date for est in estimates)})" if estimates else ""),
        facts={est.environment: round(est.on_demand, 2) for est in estimates},
        tables=[
            Table(
                ["environment", "scenario", "USD/month", "saving", "seed's range", "vs seed"],
                scenario_rows,
                "By scenario",
            ),
            Table(
                ["component", *(est.environment for est in estimates)],
                component_rows,
                "By component, on demand (USD/month)",
            ),
            Table(
                ["environment", "component", "item", "quantity", "unit", "unit price", "basis", "USD/month"],
                item_rows,
                "Line items (basis: list = the Seoul list price; derived = computed from other prices, see "
                "`aipx-runbook prices show`)",
            ),
        ],
        notes=header + notes,
        figures=[component_chart(estimates)] if chart and estimates else [],
    )


def report_for(environments: Iterable[str], chart: bool = True) -> Report:
    """Estimate the environments from their tfvars and report them: one call for a notebook cell."""
    return report(estimate_all(environments), chart=chart)


def saved_plan_report(ctx: StageContext) -> Report:
    """The cost of the plan stage 03 saved for this run, beside every environment's estimate."""
    plan = plans.shown(ctx, plans.load(ctx, plans.PLAN))
    with measure("review"):
        return plan_report(ctx.environment, plan, config.known_environments())


def plan_report(environment: str, plan: dict[str, Any], others: Iterable[str] = ()) -> Report:
    """The planned state's estimate, its change from the current state, and a chart beside other environments."""
    planned = estimate(environment, plan, "after")
    current = estimate(environment, plan, "before")
    rows = []
    for name in COMPONENTS:
        before, after = current.by_component()[name], planned.by_component()[name]
        rows.append([name, f"{before:,.2f}", f"{after:,.2f}", f"{after - before:+,.2f}"])
    rows.append(
        [
            "total",
            f"{current.on_demand:,.2f}",
            f"{planned.on_demand:,.2f}",
            f"{planned.on_demand - current.on_demand:+,.2f}",
        ]
    )
    charted, notes = [planned], []
    for other in others:
        if other == environment:
            continue
        try:
            charted.append(estimate(other))
        except RunbookError as error:
            notes.append(f"{other} is not charted: {error.why}")
    if not planned.lines and not current.lines:
        notes.append(
            "the plan holds none of the priced resources (the smoke stack has none); "
            f"`aipx-runbook cost --env {environment}` prices the environment's aws.tfvars"
        )
    base = report([planned], chart=False)
    change = planned.on_demand - current.on_demand
    return Report(
        f"Cost of the plan, {environment}",
        "info",
        f"planned ${planned.on_demand:,.2f}/month on demand, {change:+,.2f} against the current "
        f"${current.on_demand:,.2f} (prices dated {planned.table.date})",
        facts={"planned_monthly_usd": round(planned.on_demand, 2), "current_monthly_usd": round(current.on_demand, 2)},
        tables=[Table(["component", "current", "planned", "change"], rows, "On demand, USD/month"), *base.tables],
        notes=notes + base.notes,
        figures=[component_chart(charted)],
    )


def component_chart(estimates: list[Estimate]) -> str:
    """A stacked bar chart of on-demand cost per component per environment, as an inline PNG."""
    with measure("rendering"):
        return _component_chart(estimates)


def _component_chart(estimates: list[Estimate]) -> str:
    from matplotlib.figure import Figure  # no pyplot: no global figure state, less to import

    figure = Figure(figsize=(7, 3.6), dpi=100)
    axes = figure.add_subplot()
    bottoms = [0.0] * len(estimates)
    labels = [
        f"{est.environment}\n({est.basis.split(',')[-1].strip()})" if "plan" in est.basis else est.environment
        for est in estimates
    ]
    for name in COMPONENTS:
        values = [est.by_component()[name] for est in estimates]
        if any(values):
            axes.bar(labels, values, bottom=bottoms, label=name)
            bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    axes.set_ylabel("USD per month (on demand)")
    axes.set_title(f"Cost per component (prices dated {min(est.table.date for est in estimates)})")
    if any(bottoms):
        axes.legend(fontsize="small", bbox_to_anchor=(1.02, 1), loc="upper left")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    encoded = base64.b64encode(buffer.getvalue()).decode()
    return f'<img alt="cost per component per environment" src="data:image/png;base64,{encoded}"/>'


def to_json(estimates: list[Estimate]) -> dict[str, Any]:
    return {est.environment: est.to_dict() for est in estimates}


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(config.project_root()))
    except ValueError:
        return str(path)


def _decimal(value: float) -> str:
    return f"{value:.10f}".rstrip("0").rstrip(".")
