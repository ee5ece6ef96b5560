"""Stage 05: the outputs (sensitive ones masked unless revealed in an interactive session) and each output
checked against the live AWS API (verify.py), as the stage's reports."""

from __future__ import annotations

import json
from typing import Any

from .. import interactive, plans, registry
from .. import verify as verification
from ..context import StageContext
from ..contract import MASK
from ..errors import RunbookError
from ..notebook_guard import REVEALED_MARKER
from ..results import Report, Table
from ..terraform import TerraformRunner
from ..verify import FAIL, PASS, SKIP, Check


def outputs(ctx: StageContext, reveal_sensitive: bool = False) -> Report:
    registry.check("verify", {"reveal_sensitive": reveal_sensitive})
    reveal = reveal_sensitive and interactive.is_interactive()
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
    checks = verification.run(ctx, values, emulated=ctx.target.is_local, excluded=plans.applied_exclusions(ctx))
    report = checks_report(checks, ctx.stack)
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


def checks_report(checks: list[Check], stack: str) -> Report:
    counts = {status: sum(1 for c in checks if c.status == status) for status in (PASS, FAIL, SKIP)}
    status = "fail" if counts[FAIL] else ("warn" if counts[SKIP] else "ok")
    summary = f"{counts[PASS]} passed, {counts[FAIL]} failed, {counts[SKIP]} skipped"
    rows = [[c.name, c.outputs, c.status, c.reason] for c in checks]
    result = Report(
        "Live checks against AWS",
        status,
        summary,
        facts={
            "checks_passed": counts[PASS],
            "checks_failed": counts[FAIL],
            "checks_skipped": counts[SKIP],
            "failed": [c.name for c in checks if c.status == FAIL],
        },
        tables=[Table(["check", "outputs", "result", "reason"], rows)],
    )
    if stack == "smoke":
        result.notes.append(
            "the smoke stack creates no AWS resources: its outputs are names, so only the state is checked"
        )
    return result
