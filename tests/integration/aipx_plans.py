"""The AIPX stack (terraform/aws) planned for dev and production through the runbook's stages 01-03, in an empty
emulated account, once per test session and worker: test_aipx_plan.py checks the plans, test_plan_report.py the
report of dev's (both are in the xdist group "aipx_plan", so one worker makes the plans once for both)."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import moto_api
from aipx_runbook import plans, stages
from aipx_runbook.context import StageContext
from aipx_runbook.results import Report
from aipx_runbook.terraform import TerraformRunner
from paths import PROJECT_ROOT
from terraform_mirror import ProviderInstallation

ENVIRONMENTS = ("dev", "production")


@dataclass
class PlannedEnvironment:
    backend: Report
    init: Report
    plan: Report
    record: dict[str, Any]
    show: dict[str, Any]
    lock_file: Path
    run_dir: Path

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


def _plan(at: Callable[[str, str], StageContext], environment: str) -> tuple[Report, dict[str, Any]]:
    """Stage 03's review, and `terraform show -json` of the plan it saved."""
    report = stages.plan(at("plan", environment))
    ctx = at("plan", environment)
    return report, TerraformRunner(ctx).show_plan(plans.plan_path(ctx, plans.PLAN))


@pytest.fixture(scope="session")
def aipx_plans(
    aipx_providers: ProviderInstallation,
    moto_server: str,
    stage_context: Callable[..., StageContext],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, PlannedEnvironment]:
    """dev and production through backend setup, init and plan, as notebooks 01-03 do, in an empty account."""
    moto_api.empty(moto_server)
    root = tmp_path_factory.mktemp("aipx-plan")
    project, runs = _copy_project(root / "project"), root / "runs"

    def at(stage: str, environment: str) -> StageContext:
        return stage_context(stage, environment, stack="aipx", run_dir=runs / environment)

    # The project copy and the provider installation only while the plans are made: the session goes on without.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIPX_PROJECT_ROOT", str(project))
        for name, value in aipx_providers.environment.items():
            patch.setenv(name, value)
        # One after the other: both share the backend, and init writes the stack's lock file.
        backends = {env: stages.backend_setup(at("backend", env)) for env in ENVIRONMENTS}
        inits = {env: stages.init(at("init", env)) for env in ENVIRONMENTS}
        # Side by side: each has its own TF_DATA_DIR, run directory and state key.
        with ThreadPoolExecutor(max_workers=len(ENVIRONMENTS)) as pool:
            futures = {env: pool.submit(_plan, at, env) for env in ENVIRONMENTS}
            planned = {env: future.result() for env, future in futures.items()}
    return {
        env: PlannedEnvironment(
            backend=backends[env],
            init=inits[env],
            plan=planned[env][0],
            record=json.loads((runs / env / "stages" / "plan.json").read_text()),
            show=planned[env][1],
            lock_file=project / "terraform" / "aws" / ".terraform.lock.hcl",
            run_dir=runs / env,
        )
        for env in ENVIRONMENTS
    }
