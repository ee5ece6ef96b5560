"""The priced quantities a month of each kind of resource, shared by the two sources of usage: an environment's
sizing (:mod:`.sizing`) and a saved plan (:mod:`.plan`)."""

from __future__ import annotations

from .assumptions import Assumptions
from .model import Usage


def network(nat_gateways: int, albs: int, nlbs: int, endpoint_zones: int, assumptions: Assumptions) -> list[Usage]:
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


def msk(brokers: int, broker_type: str, volume_gb: float, hours: float) -> list[Usage]:
    return [
        Usage("streaming", f"{brokers} × {broker_type} broker", f"msk.broker_hour.{broker_type}", brokers * hours),
        Usage("streaming", f"broker storage {brokers} × {volume_gb:g} GB", "msk.storage_gb_month", brokers * volume_gb),
    ]


def cache(nodes: int, node_type: str, hours: float) -> list[Usage]:
    return [
        Usage(
            "cache", f"{nodes} × {node_type} node", f"elasticache.node_hour.{node_type}", nodes * hours, "elasticache"
        )
    ]


def database(instance_class: str, multi_az: bool, storage_gb: float, hours: float) -> list[Usage]:
    deployment = "multi_az" if multi_az else "single_az"
    label = "Multi-AZ" if multi_az else "Single-AZ"
    return [
        Usage("database", f"{instance_class} {label}", f"rds.postgresql.{deployment}.{instance_class}", hours, "rds"),
        Usage("database", f"storage {storage_gb:g} GB {label}", f"rds.storage.{deployment}.gb_month", storage_gb),
    ]


def fargate(service: str, tasks: int, cpu_units: int, memory_mib: int, hours: float) -> list[Usage]:
    vcpu, memory_gb = cpu_units / 1024, memory_mib / 1024
    return [
        Usage("compute", f"{service}: {tasks} × {vcpu:g} vCPU", "fargate.vcpu_hour", tasks * vcpu * hours, "fargate"),
        Usage(
            "compute", f"{service}: {tasks} × {memory_gb:g} GB", "fargate.gb_hour", tasks * memory_gb * hours, "fargate"
        ),
    ]


def functions(count: int, memory_mb: float, architecture: str, assumptions: Assumptions) -> list[Usage]:
    invocations = count * assumptions.invocations_per_function
    gb_seconds = invocations * assumptions.average_duration_ms / 1000 * memory_mb / 1024
    return [
        Usage(
            "functions",
            f"{count} functions × {assumptions.invocations_per_function:,.0f} requests",
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


def api(assumptions: Assumptions) -> list[Usage]:
    return [
        Usage(
            "api",
            f"{assumptions.api_kind.upper()} API requests",
            f"apigateway.{assumptions.api_kind}.requests_million",
            assumptions.api_requests / 1e6,
        )
    ]


def storage(assumptions: Assumptions) -> list[Usage]:
    return [Usage("storage", "S3 data lake", "s3.standard.gb_month", assumptions.data_lake_gb)]


def logs(retention_days: int, assumptions: Assumptions) -> list[Usage]:
    """Stored logs at steady state; retention 0 means never expire, priced here after one year."""
    kept_days = retention_days or 365
    stored = assumptions.logs_ingested_gb * kept_days / assumptions.days_per_month
    label = f"{retention_days} days" if retention_days else "never expire (priced after a year)"
    return [
        Usage("logs", "CloudWatch Logs ingested", "cloudwatch.logs.ingest_gb", assumptions.logs_ingested_gb),
        Usage("logs", f"CloudWatch Logs stored, retention {label}", "cloudwatch.logs.storage_gb_month", stored),
    ]
