"""Stage 04: apply the saved plan, and what decides whether it may.

Apply refuses a plan unless every check passes, in this order: the plan is this run's and still in the plan
store, unchanged, made for this environment, stack and target from the stack as it is now (``plans.load``);
it changes nothing in the state backend (``plans.refuse_backend_changes``); it is the plan the reviewer
approved when ``expected_plan`` is given (``reviewed.require_match``); and someone approved it
(``approval.approve``). A failed apply says what the state holds and whether the lock is still held.
"""

from __future__ import annotations

from .. import approval, plan_record, plans, registry, reviewed, state
from ..approval import ApprovalRequest
from ..context import StageContext
from ..errors import RunbookError, TerraformError
from ..results import Report
from ..terraform import CommandResult, TerraformRunner

APPROVE_FIX = (
    "review the plan, then set auto_approve = True in the parameters cell (papermill: -p auto_approve True; "
    "aipx-runbook run -p auto_approve=True); in JupyterLab the cell asks for a click instead"
)
PRODUCTION_FIX = (
    "; production also needs confirm = 'production' in the parameters cell (papermill: -p confirm production)"
)


def apply(ctx: StageContext, auto_approve: bool = False, confirm: str = "", expected_plan: str = "") -> Report:
    registry.check("apply", {"auto_approve": auto_approve, "confirm": confirm, "expected_plan": expected_plan})
    metadata = plans.load(ctx, plans.PLAN)
    if metadata.has_changes:
        plans.refuse_backend_changes(ctx, plans.PLAN, plans.review(ctx, plans.PLAN, metadata))
    matched = {}
    if expected_plan:
        record = reviewed.require_match(
            expected_plan, plan_record.record_path(ctx.run_dir, plans.PLAN), metadata.sha256
        )
        matched = {"reviewed_plan": record.changes_digest}
    if not metadata.has_changes:
        return ctx.record(
            Report(
                "terraform apply",
                "ok",
                "No changes in the saved plan: nothing to apply.",
                facts={"applied": False, **metadata.summary, **matched},
            )
        )
    production = ctx.environment == "production"
    request = ApprovalRequest(
        "apply the saved plan",
        ctx.environment,
        "Apply",
        metadata.summary,
        type_to_confirm=ctx.environment if production else "",
        plan_sha256=metadata.sha256,
    )
    fix = APPROVE_FIX + (PRODUCTION_FIX if production else "")
    approved_by = approval.approve(request, auto_approve and (not production or confirm == "production"), fix)
    result = apply_saved_plan(ctx, plans.PLAN)
    return ctx.record(
        Report(
            "terraform apply",
            "changed",
            f"applied the saved plan in {result.seconds:.1f} s (approved by {approved_by})",
            facts={"applied": True, "approved_by": approved_by, **metadata.summary, **matched},
        )
    )


def apply_saved_plan(ctx: StageContext, name: str) -> CommandResult:
    """Apply a saved plan once: on failure, explain what is left; either way, the plan is discarded."""
    runner = TerraformRunner(ctx)
    try:
        return runner.apply(plans.plan_path(ctx, name))
    except TerraformError as error:
        raise explain_failure(ctx, runner, error) from None
    finally:
        plans.discard(ctx, name)


def explain_failure(ctx: StageContext, runner: TerraformRunner, error: TerraformError) -> TerraformError:
    """Adds to a failed apply what the operator needs next: the lock's fate and what the state now holds."""
    try:
        locks = state.held_locks(ctx)
        lock_text = (
            "State lock: still " + "; ".join(lock.describe() for lock in locks) + ". If no Terraform process runs "
            f"for {ctx.environment}, release it in notebook 07 (confirm_lock_id with that lock ID)."
            if locks
            else f"State lock: released (nothing holds s3://{ctx.settings.state_bucket}/{ctx.settings.state_key})."
        )
    except RunbookError as lookup:
        locks = []
        lock_text = f"State lock: could not be read ({lookup.why}); check it in notebook 07."
    try:
        created = runner.state_list()
        state_text = (
            f"Already in the state ({len(created)}), kept by Terraform for the next plan:\n"
            + "\n".join(f"  {address}" for address in created)
            if created
            else "The state holds no resources: nothing was created."
        )
    except TerraformError as listing:
        created = []
        state_text = f"What the state holds could not be listed: {listing.why}"
    error.details = "\n\n".join(part for part in (error.details, lock_text, state_text) if part)
    ctx.record(
        Report(
            f"terraform {error.command}",
            "fail",
            f"{error.why}; {len(created)} resource(s) in the state; lock {'held' if locks else 'released'}",
            facts={"failed": True, "in_state": len(created), "lock_held": bool(locks)},
        )
    )
    return error
