"""Stage 08 · cost and budget: the environment's monthly estimate beside the seed's range, and its AWS Budget.

The estimate prices the environment's aws.tfvars (its sizing) whatever the stack: it needs no account and no
plan (stage 03 prices the saved plan). The budget is created or brought in line with runbook.toml ``[budget]``.
"""

from __future__ import annotations

from .. import budget as budgets
from .. import budget_report
from ..aws import AwsTarget
from ..config import EnvironmentSettings
from ..context import StageContext
from ..costing import report as cost_report
from ..results import Report


def cost_estimate(ctx: StageContext) -> Report:
    """The environment's monthly estimate from its sizing: scenarios, components, line items and a chart."""
    return ctx.record(cost_report.report_for([ctx.environment]), part="cost")


def budget(ctx: StageContext) -> Report:
    """Create or update the environment's AWS Budget and its e-mail alerts; return what was done."""
    return ctx.record(ensure_budget(ctx.target, ctx.settings))


def ensure_budget(target: AwsTarget, settings: EnvironmentSettings) -> Report:
    """The budget of ``settings`` reconciled on ``target``, as a Report (the CLI and tests call this directly)."""
    return budget_report.render(budgets.reconcile(target, settings))
