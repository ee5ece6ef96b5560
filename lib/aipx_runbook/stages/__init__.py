"""One function per runbook stage: what each notebook cell calls. Each returns a Report."""

from __future__ import annotations

import json
import time
from typing import Any

import aipx_runbook

from .. import (
    plans,
    registry,
    state,
    timings,
)
from .. import verify as verification
from ..context import StageContext, start_stage
from ..errors import RunbookError
from ..interactive import is_interactive
from ..notebook_guard import REVEALED_MARKER
from ..results import Report, Table
from ..review import MASK
from ..terraform import TerraformRunner
from .apply import apply as apply
from .backend import backend_setup as backend_setup
from .budget import budget as budget
from .budget import cost_estimate as cost_estimate
from .destroy import deletion_protection_note as deletion_protection_note
from .destroy import destroy as destroy
from .destroy import destroy_plan as destroy_plan
from .init import init as init
from .plan import cost_of_plan as cost_of_plan
from .plan import plan as plan
from .prerequisites import prerequisites as prerequisites

start = start_stage


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


timings.add("imports", time.perf_counter() - aipx_runbook.IMPORT_STARTED)
