"""One function per runbook stage: what each notebook cell calls. Each returns a Report."""

from __future__ import annotations

import json
import time
from typing import Any

import aipx_runbook

from .. import (
    approval,
    backend,
    cost,
    deprecations,
    plan_record,
    plans,
    prereqs,
    registry,
    reviewed,
    state,
    targeting,
    timings,
)
from .. import verify as verification
from ..approval import ApprovalRequest
from ..config import read_tfvars
from ..context import StageContext, open_stage
from ..errors import ApprovalRequired, RunbookError, TerraformError
from ..interactive import is_interactive
from ..notebook_guard import REVEALED_MARKER
from ..results import Report, Table
from ..review import MASK, PlanReview
from ..terraform import CommandResult, TerraformRunner

start = open_stage


def prerequisites(ctx: StageContext) -> Report:
    return prereqs.run(ctx)


def backend_setup(ctx: StageContext, fix_drift: bool = False) -> Report:
    registry.check("backend", {"fix_drift": fix_drift})
    return backend.ensure(ctx, fix_drift=fix_drift)


def state_list(ctx: StageContext) -> Report:
    return state.state_list(ctx)


def state_show(ctx: StageContext, address: str = "") -> Report:
    registry.check("state", {"state_address": address})
    return state.state_show(ctx, address)


def state_versions(ctx: StageContext) -> Report:
    return state.state_versions(ctx)


def lock_status(ctx: StageContext) -> Report:
    return state.lock_status(ctx)


def release_lock(ctx: StageContext, confirm_lock_id: str = "") -> Report:
    registry.check("state", {"confirm_lock_id": confirm_lock_id})
    return state.release_lock(ctx, confirm_lock_id)


def init(ctx: StageContext) -> Report:
    runner = TerraformRunner(ctx)
    result = runner.init(stream=True)
    config = runner.backend_config()
    rows = [
        [key, value]
        for key, value in config.items()
        if key in ("bucket", "key", "region", "dynamodb_table", "use_lockfile", "encrypt")
    ]
    report = Report(
        "terraform init",
        "ok",
        f"backend s3 configured for {ctx.environment} in {result.seconds:.1f} s",
        facts={"state": f"s3://{config['bucket']}/{config['key']}", "terraform": runner.version_text},
        tables=[Table(["backend setting", "value"], rows)],
    )
    if "dynamodb_table" in config and runner.version >= (1, 11, 0):
        report.notes.append(deprecations.explanation(ctx.environment))
    return ctx.record(report)


def plan(ctx: StageContext, exclude: object = ()) -> Report:
    """``exclude``: resource addresses left out of the plan with everything that depends on them (``targeting``)."""
    metadata, review = plans.save(ctx, plans.PLAN, targeting.parse_exclusions(exclude))
    report = review.report(f"terraform plan ({ctx.environment}, {ctx.stack})")
    report.facts["plan_sha256"] = metadata.sha256
    _refuse_backend_changes(ctx, plans.PLAN, review, report)
    _note_exclusions(report, metadata)
    report.notes.append(
        f"saved plan sha256 {metadata.sha256[:12]}… (Terraform {metadata.terraform_version}), described in "
        f"{plans.PLAN}.meta.json in the run directory; the plan itself stays in the private plan store, "
        "since it holds secret values"
    )
    return ctx.record(report)


def _refuse_backend_changes(ctx: StageContext, name: str, review: PlanReview, report: Report) -> None:
    """A plan that would change the state backend is recorded as failed, discarded, and stops the stage."""
    if not review.protected:
        return
    report.status = "fail"
    report.notes.append("refused, it would change the state backend: " + "; ".join(r.address for r in review.protected))
    ctx.record(report)
    try:
        plans.refuse_backend_changes(ctx, name, review)
    except RunbookError as error:
        error.details = str(report)
        raise


def _note_exclusions(report: Report, metadata: plans.PlanMetadata) -> None:
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
    """The monthly cost of the state this run's saved plan would produce, and its change."""
    return ctx.record(cost.saved_plan_report(ctx), part="cost")


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
    fix = (
        "review the plan, then set auto_approve = True in the parameters cell (papermill: -p auto_approve True; "
        "aipx-runbook run -p auto_approve=True); in JupyterLab the cell asks for a click instead"
    )
    if production:
        fix += (
            "; production also needs confirm = 'production' in the parameters cell (papermill: -p confirm production)"
        )
    request = ApprovalRequest(
        "apply the saved plan",
        ctx.environment,
        "Apply",
        metadata.summary,
        type_to_confirm=ctx.environment if production else "",
        plan_sha256=metadata.sha256,
    )
    approved_by = approval.approve(request, auto_approve and (not production or confirm == "production"), fix)
    result = _apply_saved_plan(ctx, plans.PLAN)
    return ctx.record(
        Report(
            "terraform apply",
            "changed",
            f"applied the saved plan in {result.seconds:.1f} s (approved by {approved_by})",
            facts={"applied": True, "approved_by": approved_by, **metadata.summary, **matched},
        )
    )


def _apply_saved_plan(ctx: StageContext, name: str) -> CommandResult:
    """Apply a saved plan once: on failure, explain what is left; either way, the plan is discarded."""
    runner = TerraformRunner(ctx)
    try:
        return runner.apply(plans.plan_path(ctx, name))
    except TerraformError as error:
        raise _explain_failure(ctx, runner, error) from None
    finally:
        plans.discard(ctx, name)


def _explain_failure(ctx: StageContext, runner: TerraformRunner, error: TerraformError) -> TerraformError:
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


def outputs(ctx: StageContext, reveal_sensitive: bool = False) -> Report:
    registry.check("verify", {"reveal_sensitive": reveal_sensitive})
    reveal = reveal_sensitive and is_interactive()
    values = TerraformRunner(ctx).outputs()
    rows = [
        [name, _masked(item["value"], item["sensitive"], reveal), item["sensitive"]]
        for name, item in sorted(values.items())
    ]
    report = Report(
        "terraform output",
        "ok" if values else "fail",
        f"{len(values)} outputs" if values else "the state holds no outputs: run stage 04 (apply) first",
        facts={"outputs": sorted(values), "sensitive": sorted(n for n, v in values.items() if v["sensitive"])},
        tables=[Table(["output", "value", "sensitive"], rows)],
    )
    if reveal_sensitive and not reveal:
        report.notes.append("reveal_sensitive is ignored in headless runs: sensitive values never reach saved files")
    if reveal and report.facts["sensitive"]:
        report.notes.append(
            f"{REVEALED_MARKER} in this notebook: clear its outputs before saving or committing it "
            "(the pre-commit hook refuses it, see the README)"
        )
    ctx.record(report)
    if not values:
        raise RunbookError("read the outputs", report.summary, "run stages 03 (plan) and 04 (apply), then verify")
    return report


def _masked(value: Any, sensitive: bool, reveal: bool) -> Any:
    if sensitive and not reveal:
        return MASK
    return json.dumps(value) if isinstance(value, dict | list) else value


def verify(ctx: StageContext) -> Report:
    """Each output checked against the live AWS API (PASS, FAIL or SKIP with the reason)."""
    values = {name: item["value"] for name, item in TerraformRunner(ctx).outputs().items()}
    report = verification.run(ctx, values, emulated=ctx.target.is_local, excluded=plans.applied_exclusions(ctx))
    report.facts["outputs"] = sorted(values)
    ctx.record(report)
    if not report.ok:
        raise RunbookError(
            "verify the outputs against AWS",
            f"{report.summary}: {', '.join(report.facts['failed'])}",
            "read the FAIL rows: each names the resource and what differs; fix it (or apply again), then rerun 05",
            details=str(report),
        )
    return report


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


def _backend_note(ctx: StageContext) -> str:
    table = f" and the lock table {ctx.settings.lock_table}" if ctx.settings.locking != "lockfile" else ""
    return f"the state bucket s3://{ctx.settings.state_bucket}{table} are not part of the stack and stay"


def destroy_plan(ctx: StageContext, exclude: object = ()) -> Report:
    """The destroy plan, saved and reviewed like any plan, before stage 06 may apply it. ``exclude``: resources
    kept, with everything they depend on (``targeting``)."""
    metadata, review = plans.save(ctx, plans.DESTROY_PLAN, targeting.parse_exclusions(exclude))
    report = review.report(f"destroy plan ({ctx.environment}, {ctx.stack})")
    report.facts["plan_sha256"] = metadata.sha256
    _refuse_backend_changes(ctx, plans.DESTROY_PLAN, review, report)
    _note_exclusions(report, metadata)
    note = deletion_protection_note(ctx)
    if note:
        report.notes.append(note)
    report.notes.append(_backend_note(ctx))
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
        metadata = plans.load(ctx, plans.DESTROY_PLAN)
        review = plans.review(ctx, plans.DESTROY_PLAN, metadata)
    else:
        metadata, review = plans.save(ctx, plans.DESTROY_PLAN)
    plans.refuse_backend_changes(ctx, plans.DESTROY_PLAN, review)
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
    result = _apply_saved_plan(ctx, plans.DESTROY_PLAN)
    report = review.report("terraform destroy")
    report.summary = f"destroyed in {result.seconds:.1f} s (approved by {approved_by}): " + report.summary
    report.facts.update(destroyed=True, approved_by=approved_by)
    report.notes.append(_backend_note(ctx))
    return ctx.record(report)


timings.add("imports", time.perf_counter() - aipx_runbook.IMPORT_STARTED)
