"""Each environment's budget covers its own cost estimate: an alert that fires every month is noise."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib

import pytest

from paths import PROJECT_ROOT

ENVIRONMENTS = ("dev", "staging", "production")
MARGIN = 1.15  # usage the estimate cannot know (traffic, logs, data): 15% above the estimate


@pytest.fixture(scope="module")
def estimates() -> dict[str, dict]:
    """`aipx-runbook cost --env all --format json`, as an operator runs it."""
    result = subprocess.run(
        [sys.executable, "-m", "aipx_runbook.cli", "cost", "--env", "all", "--format", "json"],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_budget_is_at_least_the_estimate_plus_a_margin(estimates: dict[str, dict], environment: str) -> None:
    settings = tomllib.loads((PROJECT_ROOT / "environments" / environment / "runbook.toml").read_text())
    budget = settings["budget"]["monthly_limit_usd"]
    scenarios = estimates[environment]["scenarios"]
    optimised, on_demand = scenarios["optimised"]["monthly_usd"], scenarios["on_demand"]["monthly_usd"]
    assert budget >= optimised * MARGIN, f"{environment}: ${budget} < optimised ${optimised:.0f} + 15%"
    # Until the Reserved Instances and the Savings Plan are bought, the bill is the on-demand one.
    assert budget >= on_demand * MARGIN, f"{environment}: ${budget} < on-demand ${on_demand:.0f} + 15%"
