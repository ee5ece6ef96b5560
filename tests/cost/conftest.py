"""A throw-away project with one environment, its sizing, its usage assumptions and a price table of round numbers."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from aipx_runbook import prices
from paths import PROJECT_ROOT

# Round prices, so that every expected figure in the tests can be worked out by hand.
ROUND_PRICES = {
    "nat_gateway.hour": 0.5,
    "nat_gateway.gb": 0.1,
    "vpc.public_ipv4.hour": 0.01,
    "alb.hour": 0.3,
    "alb.lcu_hour": 0.02,
    "nlb.hour": 0.2,
    "nlb.lcu_hour": 0.01,
    "vpc_endpoint.hour": 0.05,
    "vpc_endpoint.gb": 0.01,
    "msk.broker_hour.kafka.m5.large": 2.0,
    "msk.broker_hour.kafka.t3.small": 0.5,
    "msk.storage_gb_month": 0.1,
    "elasticache.node_hour.cache.r6g.large": 1.0,
    "elasticache.node_hour.cache.t3.micro": 0.25,
    "rds.postgresql.single_az.db.r6g.xlarge": 2.0,
    "rds.postgresql.multi_az.db.r6g.xlarge": 4.0,
    "rds.postgresql.single_az.db.t3.micro": 0.5,
    "rds.storage.single_az.gb_month": 0.1,
    "rds.storage.multi_az.gb_month": 0.2,
    "fargate.vcpu_hour": 0.04,
    "fargate.gb_hour": 0.005,
    "s3.standard.gb_month": 0.02,
    "cloudwatch.logs.ingest_gb": 0.5,
    "cloudwatch.logs.storage_gb_month": 0.03,
    "lambda.gb_second.x86_64": 0.00001,
    "lambda.gb_second.arm64": 0.000008,
    "lambda.requests_million": 0.2,
    "apigateway.http.requests_million": 1.0,
    "apigateway.rest.requests_million": 3.5,
    "discount.rds_reserved_1yr": 0.4,
    "discount.elasticache_reserved_1yr": 0.3,
    "discount.fargate_savings_plan_1yr": 0.2,
    "discount.fargate_spot": 0.7,
}

SIZING_TFVARS = """
environment                   = "dev"
availability_zone_count       = 3
vpc_cidr                      = "10.0.0.0/16"
single_nat_gateway            = false
kafka_instance_type           = "kafka.m5.large"
kafka_broker_count            = 3
kafka_ebs_volume_size_gb      = 100
redis_node_type               = "cache.r6g.large"
redis_num_node_groups         = 3
redis_replicas_per_node_group = 1
rds_instance_class            = "db.r6g.xlarge"
rds_multi_az                  = true
rds_allocated_storage_gb      = 100
rds_max_allocated_storage_gb  = 500
rds_backup_retention_days     = 7
fargate_cpu                   = 1024
fargate_memory                = 2048
data_ingestion_desired_count  = 2
oms_desired_count             = 2
use_fargate_spot              = false
lambda_memory_mb              = 1024
log_retention_days            = 30
"""

ASSUMPTIONS_TOML = """
hours_per_month = 720

[network]
nat_processed_gb = 10
application_load_balancers = 1
network_load_balancers = 1
capacity_units_per_load_balancer = 2
interface_endpoints = 1
endpoint_processed_gb = 100

[storage]
data_lake_gb = 1000

[logs]
ingested_gb = 12

[functions]
count = 2
invocations_per_function = 1000000
average_duration_ms = 500
architecture = "x86_64"

[api]
kind = "http"
requests = 3000000
"""


def write_price_table(path: Path, values: dict[str, float], date: str = "2026-01-02") -> Path:
    table = {
        "region": "ap-northeast-2",
        "note": "round numbers for tests",
        "prices": {
            key: {"value": value, "unit": "USD per unit", "source": "tests", "date": date, "basis": "transcribed"}
            for key, value in values.items()
        },
    }
    path.write_text(json.dumps(table))
    return path


@pytest.fixture
def make_price_table() -> Callable[..., Path]:
    """Writes a price table of the given values (all dated alike) and returns its path."""
    return write_price_table


@pytest.fixture
def round_table(tmp_path: Path) -> prices.PriceTable:
    return prices.load(path=write_price_table(tmp_path / "prices-ap-northeast-2.json", ROUND_PRICES))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project root whose dev environment has the sizing above, priced with ROUND_PRICES."""
    root = tmp_path / "project"
    (root / "terraform").mkdir(parents=True)
    dev = root / "environments" / "dev"
    dev.mkdir(parents=True)
    shutil.copy(PROJECT_ROOT / "environments" / "dev" / "runbook.toml", dev / "runbook.toml")
    (dev / "aws.tfvars").write_text(SIZING_TFVARS)
    (dev / "cost-assumptions.toml").write_text(ASSUMPTIONS_TOML)
    data = tmp_path / "data"
    data.mkdir()
    write_price_table(data / "prices-ap-northeast-2.json", ROUND_PRICES)
    monkeypatch.setenv("AIPX_PROJECT_ROOT", str(root))
    monkeypatch.setattr(prices, "DATA_DIR", data)
    return root
