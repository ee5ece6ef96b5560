"""The runbook's stages 01-03 (backend, init, plan) on the AIPX stack (terraform/aws) against the moto server.

Terraform installs hashicorp/aws from a filesystem mirror (tests/terraform_mirror.py) or the registry, and the
tests skip, saying why, where neither can supply it. Apply is not run: moto cannot create the whole stack
(terraform/aws/README.md, "Local emulator").
"""

from __future__ import annotations

import pytest
from aipx_plans import ENVIRONMENTS, PlannedEnvironment

from aipx_runbook.review import COMPONENTS, SHARED

# One group: under xdist every test of the module (and test_plan_report.py's AIPX report) shares one worker, so
# the plans are made once (the session fixture aipx_plans, tests/integration/aipx_plans.py).
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("aipx_plan")]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_init_uses_the_environments_state_key_and_only_hashicorp_aws(
    aipx_plans: dict[str, PlannedEnvironment], environment: str
) -> None:
    planned = aipx_plans[environment]
    assert planned.backend.facts["not_compliant"] == []
    assert planned.init.status == "ok"
    assert planned.init.facts["state"] == f"s3://aipx-terraform-state/aws/{environment}/terraform.tfstate"
    assert planned.lock_file.read_text().count('provider "') == 1
    assert 'provider "registry.terraform.io/hashicorp/aws"' in planned.lock_file.read_text()


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_plan_review_counts_what_terraform_plans(aipx_plans: dict[str, PlannedEnvironment], environment: str) -> None:
    planned = aipx_plans[environment]
    managed = [c for c in planned.show["resource_changes"] if c["mode"] == "managed"]
    creates = sum(planned.created().values())
    assert creates == len(managed), "a plan into an empty account only creates"
    assert creates == sum(len(planned.planned(type_)) for type_ in planned.created()), "every planned resource"
    assert creates > 100, f"{environment} plans only {creates} resources"
    facts = planned.plan.facts
    assert (facts["add"], facts["change"], facts["destroy"], facts["drift"]) == (creates, 0, 0, 0)
    assert planned.plan.status == "changed"
    assert planned.plan.summary.startswith(f"{creates} to add, 0 to change, 0 to destroy")
    assert planned.record["status"] == "changed" and planned.record["facts"]["add"] == creates
    assert planned.record["facts"]["plan_sha256"] == facts["plan_sha256"]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_plan_review_breaks_the_plan_down_by_component(
    aipx_plans: dict[str, PlannedEnvironment], environment: str
) -> None:
    planned = aipx_plans[environment]
    components = planned.plan.facts["components"]
    assert set(components) <= {*COMPONENTS, SHARED}
    missing = [name for name in COMPONENTS if not components.get(name)]
    assert not missing, f"{environment}: the review puts no resource in {missing}: {components}"
    assert sum(components.values()) == planned.plan.facts["add"]
    created = planned.created()
    assert components["streaming"] >= created["aws_msk_cluster"] + created["aws_msk_configuration"] == 2
    assert components["database"] >= created["aws_db_instance"] == 1
    assert components["functions"] >= created["aws_lambda_function"] == 4
    assert components["api"] >= created["aws_apigatewayv2_api"] == 1


def test_production_plans_more_than_dev_multi_az_over_three_zones(aipx_plans: dict[str, PlannedEnvironment]) -> None:
    dev, production = aipx_plans["dev"], aipx_plans["production"]
    assert dev.backend.facts["created"] and not production.backend.facts["created"], "they share one backend"
    assert production.plan.facts["add"] > dev.plan.facts["add"]
    zones = {env: {s["availability_zone"] for s in aipx_plans[env].planned("aws_subnet")} for env in ENVIRONMENTS}
    assert (len(zones["dev"]), len(zones["production"])) == (2, 3)
    assert (dev.created()["aws_nat_gateway"], production.created()["aws_nat_gateway"]) == (1, 3)
    assert (dev.created()["aws_subnet"], production.created()["aws_subnet"]) == (6, 9)
    [dev_database], [production_database] = dev.planned("aws_db_instance"), production.planned("aws_db_instance")
    assert (dev_database["multi_az"], production_database["multi_az"]) == (False, True)
    [production_redis] = production.planned("aws_elasticache_replication_group")
    assert production_redis["multi_az_enabled"] and production_redis["num_node_groups"] == 3
    [production_kafka] = production.planned("aws_msk_cluster")
    assert production_kafka["number_of_broker_nodes"] == 3
