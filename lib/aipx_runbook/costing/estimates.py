"""One environment's monthly estimate, from its sizing (aws.tfvars) or from a saved plan, with the price table
of its region and its usage assumptions.

A saved plan is priced once: ``of_plan`` prices its current and its planned state with one reading of the
settings, the price table and the assumptions, and remembers the pair by the plan's SHA-256 in this process
(as :mod:`aipx_runbook.plans` remembers the plan's JSON), so the plan record and the cost report of stage 03
share one estimate. An edited price table or assumptions file makes it price again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .. import config, prices
from ..prices import PriceTable
from .assumptions import ASSUMPTIONS_FILE, Assumptions, load_assumptions
from .model import Estimate, price
from .plan import spot_in_plan, usage_from_plan
from .sizing import read_sizing, usage_from_sizing


@dataclass(frozen=True)
class PlanEstimate:
    """A saved plan's estimate: what exists now (``current``) and what the plan would leave (``planned``)."""

    current: Estimate
    planned: Estimate


@dataclass(frozen=True)
class _Inputs:
    settings: config.EnvironmentSettings
    table: PriceTable
    assumptions: Assumptions


# (environment, plan SHA-256) → the inputs it was priced with and its estimate; the newest few only
_priced_plans: dict[tuple[str, str], tuple[_Inputs, PlanEstimate]] = {}
REMEMBERED_PLANS = 8


def _inputs(environment: str) -> _Inputs:
    settings = config.load_environment(environment)
    assumptions = load_assumptions(settings.directory / ASSUMPTIONS_FILE)
    return _Inputs(settings, prices.load(settings.region), assumptions)


def estimate(environment: str, plan: dict[str, Any] | None = None, state: str = "after") -> Estimate:
    """The monthly estimate of one environment: from its tfvars, or from a saved plan's ``state``."""
    inputs = _inputs(environment)
    if plan is not None:
        return _of_plan_state(environment, plan, state, inputs)
    sizing = read_sizing(inputs.settings.tfvars)
    basis = str(inputs.settings.tfvars.relative_to(config.project_root()))
    return price(
        environment,
        basis,
        usage_from_sizing(sizing, inputs.assumptions),
        inputs.table,
        inputs.assumptions,
        sizing=sizing,
        fargate_spot_configured=bool(sizing["use_fargate_spot"]),
    )


def of_plan(environment: str, plan: dict[str, Any], sha256: str = "") -> PlanEstimate:
    """The current and planned estimates of a saved plan; with its ``sha256``, priced once per process while
    the environment's settings, price table and assumptions stay the same."""
    inputs = _inputs(environment)
    key = (environment, sha256)
    if sha256 and key in _priced_plans and _priced_plans[key][0] == inputs:
        return _priced_plans[key][1]
    priced = PlanEstimate(
        current=_of_plan_state(environment, plan, "before", inputs),
        planned=_of_plan_state(environment, plan, "after", inputs),
    )
    if sha256:
        _priced_plans.pop(key, None)
        _priced_plans[key] = (inputs, priced)
        while len(_priced_plans) > REMEMBERED_PLANS:
            _priced_plans.pop(next(iter(_priced_plans)))
    return priced


def _of_plan_state(environment: str, plan: dict[str, Any], state: str, inputs: _Inputs) -> Estimate:
    usages, unpriced = usage_from_plan(plan, state, inputs.assumptions)
    basis = "saved plan, " + ("planned state" if state == "after" else "current state")
    return price(
        environment,
        basis,
        usages,
        inputs.table,
        inputs.assumptions,
        unpriced=unpriced,
        fargate_spot_configured=spot_in_plan(plan),
    )


def estimate_all(environments: Iterable[str]) -> list[Estimate]:
    return [estimate(name) for name in environments]
