"""The typed record a stage leaves in its run directory (``stages/<stage>.json``), read by the runner.

A passing stage writes it through ``StageContext.record`` (status, summary, facts). A failing stage writes it
when its error is shown in the notebook: status "failed" (or "interrupted"), what, why, fix and Terraform's own
text. The runner reads these fields; it never parses them back out of a traceback.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import RunbookError


@dataclass
class StageRecord:
    stage: str
    status: str
    summary: str = ""
    facts: dict[str, Any] = field(default_factory=dict)
    what: str = ""
    why: str = ""
    fix: str = ""
    details: str = ""
    kind: str = ""


def record_path(run_dir: Path, stage: str) -> Path:
    return run_dir / "stages" / f"{stage}.json"


def read(run_dir: Path, stage: str) -> StageRecord | None:
    try:
        raw = json.loads(record_path(run_dir, stage).read_text())
    except (OSError, ValueError):
        return None
    known = {name: raw[name] for name in StageRecord.__dataclass_fields__ if name in raw}
    return StageRecord(**{"stage": stage, "status": "", **known})


def write_failure(run_dir: Path, stage: str, error: RunbookError) -> StageRecord:
    earlier = read(run_dir, stage)
    record = StageRecord(
        stage,
        "interrupted" if getattr(error, "interrupted", False) else "failed",
        summary=earlier.summary if earlier else "",
        facts=earlier.facts if earlier else {},
        what=error.what,
        why=error.why,
        fix=error.fix,
        details=error.details,
        kind=type(error).__name__,
    )
    path = record_path(run_dir, stage)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(record), indent=2, default=str))
    return record


def watch(run_dir: Path, stage: str) -> None:
    """From now on in this process (the stage's kernel), a RunbookError that is shown is also recorded."""
    RunbookError.on_render = lambda error: write_failure(run_dir, stage, error)
