"""Stage 06: the destroy plan (reviewed like any plan) and the destroy that applies it.

Destroy needs ``confirm`` set to the environment's name, and production a second approval; the state
backend is never part of the stack and stays.
"""

from __future__ import annotations

from .. import approval, plans, registry, targeting
from ..approval import ApprovalRequest
from ..config import read_tfvars
from ..context import StageContext
from ..errors import ApprovalRequired
from ..results import Report
from .apply import apply_saved_plan, check_saved_plan, refuse_backend_changes
from .plan import note_exclusions, record_backend_refusal


def deletion_protection_note(ctx: StageContext) -> str:
    values = read_tfvars(ctx.settings.tfvars) if ctx.settings.tfvars.exists() else {}
    if not values.get("rds_deletion_protection"):
        return ""
    return (
        f"the database has deletion protection (rds_deletion_protection = true in environments/{ctx.environment}/"
        "aws.tfvars): AWS refuses to delete it, so a destroy stops at the aws_db_instance. To really destroy it, "
        "set rds_deletion_protection = false, plan and apply that change (stages 03 and 04), then destroy; RDS "
        "keeps a final snapshot unless rds_skip_final_snapshot = true"
    )


def backend_note(ctx: StageContext) -> str:
    table = f" and the lock table {ctx.settings.lock_table}" if ctx.settings.locking != "lockfile" else ""
    return f"the state bucket s3://{ctx.settings.state_bucket}{table} are not part of the stack and stay"


def destroy_plan(ctx: StageContext, exclude: object = ()) -> Report:
    """The destroy plan, saved and reviewed like any plan, before stage 06 may apply it. ``exclude``: resources
    kept, with everything they depend on (``targeting``)."""
    metadata, review = plans.save(ctx, plans.DESTROY_PLAN, targeting.parse_exclusions(exclude))
    report = review.report(f"destroy plan ({ctx.environment}, {ctx.stack})")
    report.facts["plan_sha256"] = metadata.sha256
    record_backend_refusal(ctx, plans.DESTROY_PLAN, review, report)
    note_exclusions(report, metadata)
    note = deletion_protection_note(ctx)
    if note:
        report.notes.append(note)
    report.notes.append(backend_note(ctx))
    return ctx.record(report)


def destroy(ctx: StageContext, confirm: str = "", allow_production_destroy: bool = False) -> Report:
    registry.check("destroy", {"confirm": confirm, "allow_production_destroy": allow_production_destroy})
    if confirm != ctx.environment:
        raise ApprovalRequired(
            f"destroy every resource in the state of {ctx.environment}",
            f"confirm is {confirm!r}, not the environment's name; nothing was changed",
            f"set confirm = '{ctx.environment}' in the parameters cell (papermill: -p confirm {ctx.environment}) "
            f"to destroy {ctx.environment}",
        )
    if ctx.environment == "production" and not allow_production_destroy:
        raise ApprovalRequired(
            "destroy production",
            "production needs a second explicit approval; nothing was changed",
            "also set allow_production_destroy = True in the parameters cell (papermill: -p allow_production_destroy "
            "True). " + (deletion_protection_note(ctx) or ""),
        )
    if plans.metadata_path(ctx, plans.DESTROY_PLAN).exists():
        metadata = check_saved_plan(ctx, plans.DESTROY_PLAN)
        review = plans.review(ctx, plans.DESTROY_PLAN, metadata)
    else:
        metadata, review = plans.save(ctx, plans.DESTROY_PLAN)
    refuse_backend_changes(ctx, plans.DESTROY_PLAN, review)
    if not metadata.has_changes:
        return ctx.record(
            Report("terraform destroy", "ok", "Nothing to destroy: the state is empty.", facts={"destroyed": False})
        )
    request = ApprovalRequest(
        "destroy every resource in the state",
        ctx.environment,
        "Destroy",
        metadata.summary,
        ctx.environment,
        plan_sha256=metadata.sha256,
    )
    approved_by = approval.approve(request, True, "")
    result = apply_saved_plan(ctx, plans.DESTROY_PLAN)
    report = review.report("terraform destroy")
    report.summary = f"destroyed in {result.seconds:.1f} s (approved by {approved_by}): " + report.summary
    report.facts.update(destroyed=True, approved_by=approved_by)
    report.notes.append(backend_note(ctx))
    return ctx.record(report)
