"""Stage 01: the state bucket and lock table, created or verified (backend.py), as the stage's report."""

from __future__ import annotations

from .. import backend, registry
from ..backend import BackendOutcome
from ..context import StageContext
from ..errors import BackendError
from ..results import Report, Table


def backend_setup(ctx: StageContext, fix_drift: bool = False) -> Report:
    registry.check("backend", {"fix_drift": fix_drift})
    outcome = backend.ensure(ctx, fix_drift=fix_drift)
    report = _report(ctx, outcome)
    ctx.record(report)
    if outcome.failing:
        raise BackendError(
            "verify the state backend", report.summary, backend.drift_fix(ctx, outcome), details=str(report)
        )
    return report


def _report(ctx: StageContext, outcome: BackendOutcome) -> Report:
    failing, writes = outcome.failing, outcome.writes
    rows = [[s.resource, s.name, s.wanted, s.found, s.status, s.action] for s in outcome.settings]
    report = Report(
        "Terraform state backend",
        "fail" if failing else ("changed" if writes else "ok"),
        facts={
            "created": outcome.created,
            "fixed": outcome.fixed,
            "not_compliant": [f"{s.resource} {s.name}" for s in failing],
            "write_calls": len(writes),
        },
        tables=[Table(["resource", "setting", "wanted", "found", "status", "action"], rows)],
    )
    report.notes.append(
        f"state s3://{ctx.settings.state_bucket}/{ctx.settings.state_key}; locking: {ctx.settings.locking}"
    )
    if ctx.settings.locking == "dynamodb":
        report.notes.append(
            'Terraform 1.11 deprecates DynamoDB locking: to move to S3-native locking, set locking = "both" in '
            f'environments/{ctx.environment}/runbook.toml, run stages 01 and 02, and switch to "lockfile" once '
            "everyone runs Terraform >= 1.10"
        )
    report.notes.append("API calls that wrote: " + (", ".join(writes) if writes else "none"))
    if failing:
        report.summary = "not compliant: " + "; ".join(
            f"{s.resource} {s.name} (wanted {s.wanted}, found {s.found})" for s in failing
        )
        return report
    parts = [f"{outcome.outcomes[label]} {label}" for label in outcome.created]
    if outcome.fixed:
        parts.append("fixed " + ", ".join(outcome.fixed))
    report.summary = "; ".join(parts) + "; every setting verified" if parts else "already compliant; nothing changed"
    return report
