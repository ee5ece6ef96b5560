"""Stage 00: the prerequisite checks (prereqs.py, accounts.py) as one table, failing on a blocking check."""

from __future__ import annotations

from typing import Any

from .. import prereqs
from ..checks import summary
from ..context import StageContext
from ..errors import PrerequisiteError
from ..results import Report, Table


def prerequisites(ctx: StageContext) -> Report:
    found = prereqs.run(ctx)
    checks, failing = found.checks, found.failing
    rows = [[c.name, c.found, c.required, c.status, c.fix] for c in checks]
    facts: dict[str, Any] = {
        "account": found.identity.get("Account", ""),
        "arn": found.identity.get("Arn", ""),
        "failed": [c.name for c in failing],
    }
    report = Report(
        "Prerequisites",
        "fail" if failing else ("warn" if any(c.status == "warn" for c in checks) else "ok"),
        summary(checks),
        facts=facts,
        tables=[Table(["check", "found", "required", "status", "how to fix"], rows)],
    )
    ctx.record(report)
    if failing:
        raise PrerequisiteError(
            "check prerequisites",
            "; ".join(f"{c.name}: {c.found}" for c in failing),
            " | ".join(c.fix for c in failing if c.fix),
            details=str(report),
        )
    return report
