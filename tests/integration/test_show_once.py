"""Each saved plan is shown (`terraform show -json`) and priced once: the review, the cost estimate and the
destroy that follow in the same stage reuse the parsed JSON, which stays in memory and never reaches the run
directory, and the plan record and the cost report share one estimate.

The count comes from a real wrapper around the Terraform binary, first on PATH, that logs every command line.
"""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest

from aipx_runbook import plans, stages
from aipx_runbook.costing import estimates

pytestmark = pytest.mark.integration


@pytest.fixture
def counted_terraform(tmp_path: Path, terraform_bin: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `terraform` first on PATH that appends its arguments to a log, then runs the real binary."""
    folder, log = tmp_path / "bin", tmp_path / "terraform-calls.log"
    folder.mkdir()
    wrapper = folder / "terraform"
    wrapper.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\nexec "{terraform_bin}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{folder}:{Path(terraform_bin).parent}:/usr/bin:/bin")
    assert shutil.which("terraform") == str(wrapper)
    return log


def _shows(log: Path, plan_file: Path) -> int:
    return sum(1 for line in log.read_text().splitlines() if line.startswith("show") and str(plan_file) in line)


def _count_pricing(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The states of a plan priced from now on (the real pricing, counted)."""
    priced: list[str] = []
    usage_from_plan = estimates.usage_from_plan

    def counted(plan: dict, state: str, assumptions: object) -> object:
        priced.append(state)
        return usage_from_plan(plan, state, assumptions)

    monkeypatch.setattr(estimates, "usage_from_plan", counted)
    return priced


def test_each_plan_is_shown_once_for_review_cost_and_destroy(
    stage_context,
    moto_server: str,
    reset_emulator: None,
    tmp_path: Path,
    counted_terraform: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run_dir = tmp_path / "run"

    def at(stage: str):
        return stage_context(stage, stack="smoke", run_dir=run_dir)

    stages.backend_setup(at("backend"))
    stages.init(at("init"))
    ctx = at("plan")
    priced_states = _count_pricing(monkeypatch)
    plan = stages.plan(ctx)
    cost = stages.cost_of_plan(ctx)
    assert plan.facts["outputs_changed"] > 0 and "planned_monthly_usd" in cost.facts
    assert _shows(counted_terraform, plans.plan_path(ctx, plans.PLAN)) == 1
    # One estimate of the plan (its current and its planned state) for the record and the cost report.
    assert sorted(priced_states) == ["after", "before"]

    stages.apply(at("apply"), auto_approve=True)
    ctx = at("destroy")
    stages.destroy_plan(ctx)
    destroyed = stages.destroy(ctx, confirm="dev")
    assert destroyed.facts["destroyed"] is True
    assert _shows(counted_terraform, plans.plan_path(ctx, plans.DESTROY_PLAN)) == 1

    # The plans' JSON holds their secrets (planned values, prior state): none of it is written beside the records.
    written = [p for p in run_dir.rglob("*") if p.is_file()]
    texts = {path: path.read_text(errors="replace") for path in written}
    leaked = [path for path, text in texts.items() if '"planned_values"' in text or '"prior_state"' in text]
    assert written and not leaked


def test_a_plan_changed_after_it_was_shown_is_refused_not_served_from_memory(
    stage_context, moto_server: str, reset_emulator: None, tmp_path: Path, counted_terraform: Path
) -> None:
    run_dir = tmp_path / "run"
    ctx = stage_context("plan", stack="smoke", run_dir=run_dir)
    stages.backend_setup(ctx)
    stages.init(ctx)
    stages.plan(ctx)
    path = plans.plan_path(ctx, plans.PLAN)
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(Exception, match="hash mismatch"):
        stages.cost_of_plan(ctx)
    assert _shows(counted_terraform, path) == 1
