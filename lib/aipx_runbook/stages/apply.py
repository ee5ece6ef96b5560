"""Stage 04: apply the saved plan, and everything that decides whether it may.

Apply refuses a plan unless every check passes, in this order (``apply`` below):
1. ``check_saved_plan``: a description of a plan is in the run directory, the plan is this run's and still
   in the private plan store, its SHA-256 is the one recorded, it was made for this environment, stack and
   target, and from the stack's files and aws.tfvars as they are now;
2. ``refuse_backend_changes``: it changes nothing in the state backend (the plan is then discarded);
3. with ``expected_plan``: it is the plan the reviewer approved (``reviewed.require_match``);
4. someone approved it (``approval.approve``: auto_approve, or a click; production also needs confirm).
A plan is applied once and discarded either way; a failed apply says what the state holds and whether the
lock is still held. Stage 06 applies its destroy plan through the same checks.
"""

from __future__ import annotations

from .. import approval, plan_record, plans, protection, registry, reviewed, state
from ..approval import ApprovalRequest
from ..context import StageContext
from ..errors import RunbookError, TerraformError
from ..plans import PlanMetadata
from ..results import Report
from ..review import PlanReview
from ..stack_files import file_sha256, stack_digest
from ..terraform import CommandResult, TerraformRunner

PLAN_AGAIN = "run stage 03 (plan) again in this run directory, review it, then apply"

APPROVE_FIX = (
    "review the plan, then set auto_approve = True in the parameters cell (papermill: -p auto_approve True; "
    "aipx-runbook run -p auto_approve=True); in JupyterLab the cell asks for a click instead"
)
PRODUCTION_FIX = (
    "; production also needs confirm = 'production' in the parameters cell (papermill: -p confirm production)"
)


def apply(ctx: StageContext, auto_approve: bool = False, confirm: str = "", expected_plan: str = "") -> Report:
    registry.check("apply", {"auto_approve": auto_approve, "confirm": confirm, "expected_plan": expected_plan})
    metadata = check_saved_plan(ctx, plans.PLAN)
    if metadata.has_changes:
        refuse_backend_changes(ctx, plans.PLAN, plans.review(ctx, plans.PLAN, metadata))
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


def check_saved_plan(ctx: StageContext, name: str) -> PlanMetadata:
    """The saved plan's description, once the plan is checked to be this run's, for this environment,
    stack and target, unchanged since it was saved, and made from the stack as it is now."""
    metadata = plans.load(ctx, name)
    if metadata.run_dir and metadata.run_dir != str(ctx.run_dir):
        raise RunbookError(
            "check the saved plan", f"it was made by another run ({metadata.run_dir}), not this one", PLAN_AGAIN
        )
    path = plans.plan_path(ctx, name)
    if not path.exists():
        raise RunbookError(
            "find the saved plan",
            f"{plans.metadata_path(ctx, name).name} describes a plan that is no longer in the plan store (a plan is "
            "deleted once applied, or when a new plan replaces it)",
            PLAN_AGAIN,
        )
    problems = []
    if file_sha256(path) != metadata.sha256:
        problems.append("the plan file changed after it was saved (hash mismatch)")
    for field_name, expected in (("environment", ctx.environment), ("stack", ctx.stack), ("target", ctx.target.name)):
        if getattr(metadata, field_name) != expected:
            problems.append(f"it was made for {field_name} {getattr(metadata, field_name)!r}, not {expected!r}")
    var_file = ctx.settings.tfvars if ctx.settings.tfvars.exists() else None
    if stack_digest(ctx.stack_dir, var_file) != metadata.stack_digest:
        problems += _what_changed(ctx, metadata)
    if problems:
        raise RunbookError("check the saved plan", "; ".join(problems), PLAN_AGAIN)
    return metadata


def _what_changed(ctx: StageContext, metadata: PlanMetadata) -> list[str]:
    """Which of the stack and the environment's aws.tfvars changed since the plan (only what really did)."""
    tfvars = f"environments/{ctx.environment}/aws.tfvars"
    if not metadata.stack_files_digest:  # described by an older runbook: the parts cannot be told apart
        return [f"the stack or {tfvars} changed since the plan was made"]
    changed = []
    if stack_digest(ctx.stack_dir, None) != metadata.stack_files_digest:
        changed.append(f"the stack's files ({ctx.stack_dir.name}/) changed since the plan was made")
    if plans.tfvars_sha256(ctx) != metadata.tfvars_sha256:
        changed.append(f"{tfvars} changed since the plan was made")
    return changed or [f"the stack or {tfvars} changed since the plan was made"]


def refuse_backend_changes(ctx: StageContext, name: str, review: PlanReview) -> None:
    """Discard a saved plan that would change the state backend, and stop: no approval is ever asked for it."""
    if review.protected:
        plans.discard(ctx, name)
        plans.metadata_path(ctx, name).unlink(missing_ok=True)
        raise protection.refuse(f"check the saved plan ({name})", review.protected, ctx.stack)


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
