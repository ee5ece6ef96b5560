"""Saved plans: made by stage 03 (or the destroy review), checked before anything applies them.

A saved plan is a zip archive holding the value of every variable, sensitive ones included, and the prior
state with its sensitive outputs. The run directory is what CI publishes and what people share, so the plan
itself lives in the workspace's private plan store (``<workspace>/.aipx/plans/``, owner-only), one folder per
run directory. The run directory gets the plan's description, ``<name>.meta.json``: its SHA-256, environment,
stack, target, Terraform version, the run it belongs to and its counts. A plan is deleted once applied or
replaced; the store prunes the plans of runs that have ended: when a plan is saved and when a run ends, a run's
folder is deleted once its run directory is gone or its newest plan is older than PLAN_LIFETIME_HOURS (a plan
that old is stale anyway; plan again).

``terraform show -json`` of a plan is run once, when the plan is saved: its parsed JSON (which holds the
plan's secrets too) is kept in this process's memory only, keyed by the plan file's SHA-256, for the cost
estimate and the destroy review that follow in the same stage; it is never written anywhere.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from . import config, plan_record, protection, targeting
from .context import StageContext
from .errors import RunbookError
from .review import PlanReview
from .targeting import ResourceGraph
from .terraform import PlanMetadata, TerraformRunner, file_sha256, stack_digest
from .timings import measure

PLAN = "tfplan"
DESTROY_PLAN = "destroy.tfplan"
PLAN_AGAIN = "run stage 03 (plan) again in this run directory, review it, then apply"
# `terraform show -json` of the plans this process saved or read: (plan file, its SHA-256) -> parsed JSON.
_shown: dict[tuple[str, str], dict[str, Any]] = {}
PLAN_LIFETIME_HOURS = 24
OWNER = "run_dir"


def store_root() -> Path:
    path = config.state_dir() / "plans"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    return path


def store_dir(ctx: StageContext) -> Path:
    path = store_root() / hashlib.sha256(str(ctx.run_dir).encode()).hexdigest()[:16]
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    owner = path / OWNER
    if not owner.exists():
        owner.write_text(str(ctx.run_dir))
    return path


def prune(now: float | None = None) -> list[str]:
    """Delete the plans of runs that have ended (run directory gone, or plan older than PLAN_LIFETIME_HOURS);
    the run directories whose plans were deleted."""
    now = time.time() if now is None else now
    pruned = []
    for folder in sorted(store_root().iterdir()):
        if not folder.is_dir():
            continue
        owner = folder / OWNER
        run_dir = owner.read_text().strip() if owner.exists() else ""
        plans = [path for path in folder.iterdir() if path.name != OWNER]
        newest = max((path.stat().st_mtime for path in plans), default=folder.stat().st_mtime)
        if not run_dir or not Path(run_dir).is_dir() or now - newest > PLAN_LIFETIME_HOURS * 3600:
            shutil.rmtree(folder, ignore_errors=True)
            pruned.append(run_dir or folder.name)
    return pruned


def plan_path(ctx: StageContext, name: str) -> Path:
    return store_dir(ctx) / name


def metadata_path(ctx: StageContext, name: str) -> Path:
    return ctx.run_dir / f"{name}.meta.json"


def save(ctx: StageContext, name: str = PLAN, exclude: tuple[str, ...] = ()) -> tuple[PlanMetadata, PlanReview]:
    """Plan (a destroy plan for DESTROY_PLAN), describe it in the run directory and review it. With ``exclude``,
    the plan targets every other resource (``targeting``); the metadata lists what it leaves out."""
    prune()
    discard(ctx, name)
    metadata_path(ctx, name).unlink(missing_ok=True)
    plan_record.record_path(ctx.run_dir, name).unlink(missing_ok=True)
    runner = TerraformRunner(ctx)
    path = plan_path(ctx, name)
    selection = (
        targeting.select(ResourceGraph.from_dot(runner.graph()), exclude, destroy=name == DESTROY_PLAN)
        if exclude
        else None
    )
    _, metadata = runner.plan(
        path, destroy=name == DESTROY_PLAN, stream=True, targets=selection.targets if selection else ()
    )
    path.chmod(0o600)
    plan = _show(runner, path, metadata.sha256)
    with measure("review"):
        review = PlanReview.from_show_json(plan)
    review.protected = protection.refusals(plan, ctx.settings.state_bucket, ctx.settings.lock_table)
    metadata.summary = review.counts
    metadata.run_dir = str(ctx.run_dir)
    metadata.stack_files_digest = stack_digest(ctx.stack_dir, None)
    metadata.tfvars_sha256 = _tfvars_sha256(ctx)
    if selection:
        metadata.excluded = list(selection.excluded)
        metadata.left_out = list(selection.left_out)
    target = metadata_path(ctx, name)
    partial = target.with_name(target.name + ".partial")
    partial.write_text(json.dumps(asdict(metadata), indent=2))
    os.replace(partial, target)
    with measure("record"):
        plan_record.write(ctx.run_dir, name, plan_record.build(metadata, review, plan))
    return metadata, review


def load(ctx: StageContext, name: str = PLAN) -> PlanMetadata:
    """The saved plan's description, once the plan is checked to be this run's, for this environment,
    stack and target, unchanged since it was saved, and made from the stack as it is now."""
    meta_path = metadata_path(ctx, name)
    path = plan_path(ctx, name)
    if not meta_path.exists():
        raise RunbookError(
            "find the saved plan",
            f"no saved plan in {ctx.run_dir}",
            "run stage 03 (plan) with the same run_dir first; apply only applies a plan this run saved",
        )
    metadata = PlanMetadata(**json.loads(meta_path.read_text()))
    if metadata.run_dir and metadata.run_dir != str(ctx.run_dir):
        raise RunbookError(
            "check the saved plan", f"it was made by another run ({metadata.run_dir}), not this one", PLAN_AGAIN
        )
    if not path.exists():
        raise RunbookError(
            "find the saved plan",
            f"{meta_path.name} describes a plan that is no longer in the plan store (a plan is deleted once "
            "applied, or when a new plan replaces it)",
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


def applied_exclusions(ctx: StageContext) -> list[str]:
    """What this run's plan (stage 03) left out with ``exclude``; [] for a whole-stack plan or none."""
    path = metadata_path(ctx, PLAN)
    return list(json.loads(path.read_text()).get("excluded", [])) if path.exists() else []


def _tfvars_sha256(ctx: StageContext) -> str:
    return file_sha256(ctx.settings.tfvars) if ctx.settings.tfvars.exists() else ""


def _what_changed(ctx: StageContext, metadata: PlanMetadata) -> list[str]:
    """Which of the stack and the environment's aws.tfvars changed since the plan (only what really did)."""
    tfvars = f"environments/{ctx.environment}/aws.tfvars"
    if not metadata.stack_files_digest:  # described by an older runbook: the parts cannot be told apart
        return [f"the stack or {tfvars} changed since the plan was made"]
    changed = []
    if stack_digest(ctx.stack_dir, None) != metadata.stack_files_digest:
        changed.append(f"the stack's files ({ctx.stack_dir.name}/) changed since the plan was made")
    if _tfvars_sha256(ctx) != metadata.tfvars_sha256:
        changed.append(f"{tfvars} changed since the plan was made")
    return changed or [f"the stack or {tfvars} changed since the plan was made"]


def shown(ctx: StageContext, metadata: PlanMetadata, name: str = PLAN) -> dict[str, Any]:
    """``terraform show -json`` of a saved plan that ``load`` accepted: from memory when this process saved or
    read it already (the SHA-256 ``load`` checked names its content), else shown once now."""
    return _show(TerraformRunner(ctx), plan_path(ctx, name), metadata.sha256)


def review(ctx: StageContext, name: str = PLAN, metadata: PlanMetadata | None = None) -> PlanReview:
    """The review of a saved plan that ``load`` accepted."""
    plan = shown(ctx, metadata or load(ctx, name), name)
    with measure("review"):
        review = PlanReview.from_show_json(plan)
    review.protected = protection.refusals(plan, ctx.settings.state_bucket, ctx.settings.lock_table)
    return review


def refuse_backend_changes(ctx: StageContext, name: str, review: PlanReview) -> None:
    """Discard a saved plan that would change the state backend, and stop: no approval is ever asked for it."""
    if review.protected:
        discard(ctx, name)
        metadata_path(ctx, name).unlink(missing_ok=True)
        raise protection.refuse(f"check the saved plan ({name})", review.protected, ctx.stack)


def _show(runner: TerraformRunner, path: Path, sha256: str) -> dict[str, Any]:
    key = (str(path), sha256)
    if key not in _shown:
        _forget(path)
        _shown[key] = runner.show_plan(path)
    return _shown[key]


def _forget(path: Path) -> None:
    for key in [key for key in _shown if key[0] == str(path)]:
        del _shown[key]


def discard(ctx: StageContext, name: str) -> None:
    """Delete a saved plan: it holds secrets, and once applied (or replaced) it can never be applied again."""
    path = plan_path(ctx, name)
    path.unlink(missing_ok=True)
    _forget(path)
