"""Saved plans: made by stage 03 (or the destroy review), checked before anything applies them.

A saved plan is a zip archive holding the value of every variable, sensitive ones included, and the prior
state with its sensitive outputs. The run directory is what CI publishes and what people share, so the plan
itself lives in the workspace's private plan store (``<workspace>/.aipx/plans/``, owner-only), one folder per
run directory. The run directory gets the plan's description (``PlanMetadata``), ``<name>.meta.json``: its
SHA-256, environment, stack, target, Terraform version, the run it belongs to and its counts; stages/apply.py
checks a plan against it before applying. A plan is deleted once applied or
replaced; when a plan is saved and when a run ends, the store prunes the plans of runs that have ended
(plan_store.py).

``terraform show -json`` of a plan is run once, when the plan is saved: its parsed JSON (which holds the
plan's secrets too) is kept in this process's memory only, keyed by the plan file's SHA-256, for the cost
estimate and the destroy review that follow in the same stage; it is never written anywhere.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import plan_record, protection, targeting
from .context import StageContext
from .errors import RunbookError
from .plan_store import OWNER, prune, store_root
from .review import PlanReview
from .stack_files import file_sha256, stack_digest
from .targeting import ResourceGraph
from .terraform import TerraformRunner
from .timings import measure

PLAN = "tfplan"
DESTROY_PLAN = "destroy.tfplan"
# `terraform show -json` of the plans this process saved or read: (plan file, its SHA-256) -> parsed JSON.
_shown: dict[tuple[str, str], dict[str, Any]] = {}


@dataclass
class PlanMetadata:
    """What a saved plan was made for; apply refuses a plan whose facts do not match (stages/apply.py)."""

    plan_file: str
    sha256: str
    environment: str
    stack: str
    stack_digest: str
    target: str
    terraform_version: str
    destroy: bool
    created_at: str
    has_changes: bool
    summary: dict[str, Any] = field(default_factory=dict)
    run_dir: str = ""
    # The two parts of stack_digest apart, so that a mismatch names which one changed.
    stack_files_digest: str = ""
    tfvars_sha256: str = ""
    # A plan with exclusions (targeting.py): the resources named, and all it left out because of them.
    excluded: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)


def store_dir(ctx: StageContext) -> Path:
    path = store_root() / hashlib.sha256(str(ctx.run_dir).encode()).hexdigest()[:16]
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    owner = path / OWNER
    if not owner.exists():
        owner.write_text(str(ctx.run_dir))
    return path


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
    destroy = name == DESTROY_PLAN
    result = runner.plan(path, destroy=destroy, stream=True, targets=selection.targets if selection else ())
    path.chmod(0o600)
    metadata = PlanMetadata(
        plan_file=path.name,
        sha256=file_sha256(path),
        environment=ctx.environment,
        stack=ctx.stack,
        stack_digest=stack_digest(ctx.stack_dir, runner.var_file),
        target=ctx.target.name,
        terraform_version=runner.version_text,
        destroy=destroy,
        created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        has_changes=result.returncode == 2,
        run_dir=str(ctx.run_dir),
        stack_files_digest=stack_digest(ctx.stack_dir, None),
        tfvars_sha256=tfvars_sha256(ctx),
    )
    plan = _show(runner, path, metadata.sha256)
    with measure("review"):
        review = PlanReview.from_show_json(plan)
    review.protected = protection.refusals(plan, ctx.settings.state_bucket, ctx.settings.lock_table)
    metadata.summary = review.counts
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
    """The saved plan's description as stage 03 wrote it: whether the plan may be applied is decided in
    stages/apply.py (``check_saved_plan``)."""
    meta_path = metadata_path(ctx, name)
    if not meta_path.exists():
        raise RunbookError(
            "find the saved plan",
            f"no saved plan in {ctx.run_dir}",
            "run stage 03 (plan) with the same run_dir first; apply only applies a plan this run saved",
        )
    return PlanMetadata(**json.loads(meta_path.read_text()))


def applied_exclusions(ctx: StageContext) -> list[str]:
    """What this run's plan (stage 03) left out with ``exclude``; [] for a whole-stack plan or none."""
    path = metadata_path(ctx, PLAN)
    return list(json.loads(path.read_text()).get("excluded", [])) if path.exists() else []


def tfvars_sha256(ctx: StageContext) -> str:
    return file_sha256(ctx.settings.tfvars) if ctx.settings.tfvars.exists() else ""


def shown(ctx: StageContext, metadata: PlanMetadata, name: str = PLAN) -> dict[str, Any]:
    """``terraform show -json`` of a saved plan: from memory when this process saved or read it already (the
    SHA-256 its description holds names its content), else shown once now."""
    return _show(TerraformRunner(ctx), plan_path(ctx, name), metadata.sha256)


def review(ctx: StageContext, name: str, metadata: PlanMetadata) -> PlanReview:
    """The review of a saved plan, with the changes it would make to the state backend."""
    plan = shown(ctx, metadata, name)
    with measure("review"):
        review = PlanReview.from_show_json(plan)
    review.protected = protection.refusals(plan, ctx.settings.state_bucket, ctx.settings.lock_table)
    return review


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
