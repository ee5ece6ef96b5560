"""One function per runbook stage: what each notebook cell calls. Each returns a Report."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from . import backend, prereqs
from .context import StageContext, open_stage
from .errors import ApprovalRequired, RunbookError
from .interactive import is_interactive
from .results import Report, Table
from .review import PlanReview
from .terraform import PlanMetadata, TerraformRunner, file_sha256, stack_digest

PLAN_FILE = "tfplan"
DESTROY_PLAN_FILE = "destroy.tfplan"
MASK = "•••••••• (sensitive)"

start = open_stage


def prerequisites(ctx: StageContext) -> Report:
    return prereqs.run(ctx)


def backend_setup(ctx: StageContext, fix_drift: bool = False) -> Report:
    return backend.ensure(ctx, fix_drift=fix_drift)


def init(ctx: StageContext) -> Report:
    runner = TerraformRunner(ctx)
    result = runner.init()
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
    return ctx.record(report)


def _metadata_path(plan_file: Path) -> Path:
    return plan_file.with_name(plan_file.name + ".meta.json")


def _save_plan(ctx: StageContext, destroy: bool) -> tuple[PlanMetadata, PlanReview]:
    runner = TerraformRunner(ctx)
    plan_file = ctx.run_dir / (DESTROY_PLAN_FILE if destroy else PLAN_FILE)
    _, metadata = runner.plan(plan_file, destroy=destroy)
    review = PlanReview.from_show_json(runner.show_plan(plan_file))
    metadata.summary = review.counts
    _metadata_path(plan_file).write_text(json.dumps(asdict(metadata), indent=2))
    return metadata, review


def plan(ctx: StageContext) -> Report:
    metadata, review = _save_plan(ctx, destroy=False)
    report = review.report(f"terraform plan ({ctx.environment}, {ctx.stack})")
    report.facts["plan_sha256"] = metadata.sha256
    report.notes.append(f"saved plan: {PLAN_FILE} (sha256 {metadata.sha256[:12]}…) in the run directory")
    return ctx.record(report)


def load_plan(ctx: StageContext, plan_file: Path) -> PlanMetadata:
    """The saved plan's metadata, after checking it is this run's plan for this environment and stack."""
    meta_path = _metadata_path(plan_file)
    if not plan_file.exists() or not meta_path.exists():
        raise RunbookError(
            "find the saved plan",
            f"no saved plan in {ctx.run_dir}",
            "run stage 03 (plan) with the same run_dir first; apply only applies a plan this run saved",
        )
    metadata = PlanMetadata(**json.loads(meta_path.read_text()))
    problems = []
    if file_sha256(plan_file) != metadata.sha256:
        problems.append("the plan file changed after it was saved (hash mismatch)")
    for name, expected in (("environment", ctx.environment), ("stack", ctx.stack), ("target", ctx.target.name)):
        if getattr(metadata, name) != expected:
            problems.append(f"it was made for {name} {getattr(metadata, name)!r}, not {expected!r}")
    runner_var_file = ctx.settings.tfvars if ctx.settings.tfvars.exists() else None
    if stack_digest(ctx.stack_dir, runner_var_file) != metadata.stack_digest:
        problems.append("the stack or the environment's aws.tfvars changed since the plan was made")
    if problems:
        raise RunbookError(
            "check the saved plan", "; ".join(problems), "run stage 03 (plan) again, review it, then apply"
        )
    return metadata


def _require_approval(ctx: StageContext, action: str, approved: bool, how: str) -> None:
    if approved:
        return
    where = "this interactive session" if is_interactive() else "a headless run"
    raise ApprovalRequired(
        f"{action} for {ctx.environment}",
        f"not approved in {where}; nothing was changed",
        how,
    )


def apply(ctx: StageContext, auto_approve: bool = False) -> Report:
    plan_file = ctx.run_dir / PLAN_FILE
    metadata = load_plan(ctx, plan_file)
    if not metadata.has_changes:
        return ctx.record(
            Report(
                "terraform apply",
                "ok",
                "No changes in the saved plan: nothing to apply.",
                facts={"applied": False, **metadata.summary},
            )
        )
    _require_approval(
        ctx,
        "apply the saved plan",
        auto_approve,
        "review the plan, then pass auto_approve=True (papermill: -p auto_approve True; "
        "aipx-runbook run -p auto_approve=True; JupyterLab: set it in the parameters cell)",
    )
    result = TerraformRunner(ctx).apply(plan_file)
    return ctx.record(
        Report(
            "terraform apply",
            "changed",
            f"applied the saved plan in {result.seconds:.1f} s",
            facts={"applied": True, **metadata.summary},
        )
    )


def _masked(value: Any, sensitive: bool, reveal: bool) -> Any:
    if sensitive and not reveal:
        return MASK
    return json.dumps(value) if isinstance(value, dict | list) else value


def outputs(ctx: StageContext, reveal_sensitive: bool = False) -> Report:
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
    ctx.record(report)
    if not values:
        raise RunbookError("read the outputs", report.summary, "run stages 03 (plan) and 04 (apply), then verify")
    return report


def destroy(ctx: StageContext, confirm: str = "", allow_production_destroy: bool = False) -> Report:
    _require_approval(
        ctx,
        "destroy every resource in the state",
        confirm == ctx.environment,
        f"pass confirm='{ctx.environment}' (papermill: -p confirm {ctx.environment}) to destroy {ctx.environment}",
    )
    if ctx.environment == "production" and not allow_production_destroy:
        raise ApprovalRequired(
            "destroy production",
            "production needs a second explicit approval",
            "also pass allow_production_destroy=True; the database's deletion protection must be turned off first",
        )
    metadata, review = _save_plan(ctx, destroy=True)
    if not metadata.has_changes:
        return ctx.record(
            Report("terraform destroy", "ok", "Nothing to destroy: the state is empty.", facts={"destroyed": False})
        )
    result = TerraformRunner(ctx).apply(ctx.run_dir / DESTROY_PLAN_FILE)
    report = review.report("terraform destroy")
    report.summary = f"destroyed in {result.seconds:.1f} s: " + report.summary
    report.facts["destroyed"] = True
    return ctx.record(report)
