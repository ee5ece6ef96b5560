"""One environment's monthly estimate, from its sizing (aws.tfvars) or from a saved plan, with the price table
of its region and its usage assumptions."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import config, prices
from .assumptions import ASSUMPTIONS_FILE, load_assumptions
from .model import Estimate, price
from .plan import spot_in_plan, usage_from_plan
from .sizing import read_sizing, usage_from_sizing


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
            fargate_spot_configured=spot_in_plan(plan),
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
