"""The runbook's stages 01-03 (backend, init, plan) on the AIPX stack (terraform/aws) against the moto server.

Terraform installs hashicorp/aws from a filesystem mirror (tests/terraform_mirror.py) or the registry, and the
tests skip, saying why, where neither can supply it. Apply is not run: moto cannot create the whole stack
(terraform/aws/README.md, "Local emulator").
"""

from __future__ import annotations

import json
import shutil
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from aipx_runbook import plans, stages
from aipx_runbook.context import StageContext, open_stage
from aipx_runbook.results import Report
from aipx_runbook.review import COMPONENTS, SHARED
from aipx_runbook.terraform import TerraformRunner
from paths import PROJECT_ROOT
from terraform_mirror import ProviderInstallation

# One group: under xdist every test of the module shares one worker, so the plans are made once.
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("aipx_plan")]

ENVIRONMENTS = ("dev", "production")


@dataclass
class PlannedEnvironment:
    backend: Report
    init: Report
    plan: Report
    record: dict[str, Any]
    show: dict[str, Any]
    lock_file: Path

    def created(self) -> Counter[str]:
        """Resources Terraform plans to create, by type, from `terraform show -json` of the saved plan."""
        return Counter(c["type"] for c in self.show["resource_changes"] if c["change"]["actions"] == ["create"])

    def planned(self, type_: str) -> list[dict[str, Any]]:
        """The planned values of every managed resource of one type, in the root module and its modules."""
        found, modules = [], [self.show["planned_values"]["root_module"]]
        while modules:
            module = modules.pop()
            found += [
                r.get("values", {})
                for r in module.get("resources", [])
                if r["mode"] == "managed" and r["type"] == type_
            ]
            modules += module.get("child_modules", [])
        return found


def _copy_project(root: Path) -> Path:
    """environments/ and terraform/aws of the checkout (with its committed .terraform.lock.hcl): init runs in
    the copy, so whatever it writes next to the stack never lands in the checkout."""
    shutil.copytree(PROJECT_ROOT / "environments", root / "environments")
    shutil.copytree(
        PROJECT_ROOT / "terraform" / "aws",
        root / "terraform" / "aws",
        ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", "*.tfplan"),
    )
    return root


def _stage(name: str, environment: str, runs: Path) -> StageContext:
    return open_stage(name, environment, target="local", stack="aipx", run_dir=str(runs / environment))


def _plan(environment: str, runs: Path) -> tuple[Report, dict[str, Any]]:
    """Stage 03's review, and `terraform show -json` of the plan it saved."""
    report = stages.plan(_stage("plan", environment, runs))
    ctx = _stage("plan", environment, runs)
    return report, TerraformRunner(ctx).show_plan(plans.plan_path(ctx, plans.PLAN))


@pytest.fixture(scope="module")
def aipx_plans(
    aipx_providers: ProviderInstallation, moto_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, PlannedEnvironment]]:
    """dev and production through backend setup, init and plan, as notebooks 01-03 do, in an empty account."""
    urllib.request.urlopen(urllib.request.Request(moto_server + "/moto-api/reset", method="POST")).close()
    root = tmp_path_factory.mktemp("aipx-plan")
    project, runs = _copy_project(root / "project"), root / "runs"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIPX_PROJECT_ROOT", str(project))
        for name, value in aipx_providers.environment.items():
            patch.setenv(name, value)
        # One after the other: both share the backend, and init writes the stack's lock file.
        backends = {env: stages.backend_setup(_stage("backend", env, runs)) for env in ENVIRONMENTS}
        inits = {env: stages.init(_stage("init", env, runs)) for env in ENVIRONMENTS}
        # Side by side: each has its own TF_DATA_DIR, run directory and state key.
        with ThreadPoolExecutor(max_workers=len(ENVIRONMENTS)) as pool:
            futures = {env: pool.submit(_plan, env, runs) for env in ENVIRONMENTS}
            planned = {env: future.result() for env, future in futures.items()}
        yield {
            env: PlannedEnvironment(
                backend=backends[env],
                init=inits[env],
                plan=planned[env][0],
                record=json.loads((runs / env / "stages" / "plan.json").read_text()),
                show=planned[env][1],
                lock_file=project / "terraform" / "aws" / ".terraform.lock.hcl",
            )
            for env in ENVIRONMENTS
        }


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
