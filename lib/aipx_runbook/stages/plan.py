"""Stage 03: the saved plan, its review, and what it would cost.

A plan that would change the state backend is recorded as failed and discarded here, before anyone is asked
to approve it; a partial plan (``exclude``) says what it leaves out.
"""

from __future__ import annotations

from .. import plans, targeting
from ..context import StageContext
from ..costing import report as cost_report
from ..errors import RunbookError
from ..results import Report
from ..review import PlanReview
from .apply import check_saved_plan, refuse_backend_changes


def plan(ctx: StageContext, exclude: object = ()) -> Report:
    """``exclude``: resource addresses left out of the plan with everything that depends on them (``targeting``)."""
    metadata, review = plans.save(ctx, plans.PLAN, targeting.parse_exclusions(exclude))
    report = review.report(f"terraform plan ({ctx.environment}, {ctx.stack})")
    report.facts["plan_sha256"] = metadata.sha256
    record_backend_refusal(ctx, plans.PLAN, review, report)
    note_exclusions(report, metadata)
    report.notes.append(
        f"saved plan sha256 {metadata.sha256[:12]}… (Terraform {metadata.terraform_version}), described in "
        f"{plans.PLAN}.meta.json in the run directory; the plan itself stays in the private plan store, "
        "since it holds secret values"
    )
    return ctx.record(report)


def record_backend_refusal(ctx: StageContext, name: str, review: PlanReview, report: Report) -> None:
    """A plan that would change the state backend is recorded as failed, discarded, and stops the stage
    (apply would refuse it too: ``refuse_backend_changes`` in stages/apply.py)."""
    if not review.protected:
        return
    report.status = "fail"
    report.notes.append("refused, it would change the state backend: " + "; ".join(r.address for r in review.protected))
    ctx.record(report)
    try:
        refuse_backend_changes(ctx, name, review)
    except RunbookError as error:
        error.details = str(report)
        raise


def note_exclusions(report: Report, metadata: plans.PlanMetadata) -> None:
    if not metadata.excluded:
        return
    report.facts["excluded"] = metadata.excluded
    report.facts["left_out"] = metadata.left_out
    dependents = [address for address in metadata.left_out if address not in metadata.excluded]
    report.notes.append(
        f"a partial plan (-target): it leaves out {', '.join(metadata.excluded)} as asked"
        + (f", and {', '.join(dependents)} that depend on them" if dependents else "")
        + "; a plan without exclude covers the whole stack"
    )


def cost_of_plan(ctx: StageContext) -> Report:
    """The monthly cost of the state this run's saved plan would produce, and its change: of a plan apply
    would accept (``check_saved_plan`` in stages/apply.py)."""
    check_saved_plan(ctx, plans.PLAN)
    return ctx.record(cost_report.saved_plan_report(ctx), part="cost")
