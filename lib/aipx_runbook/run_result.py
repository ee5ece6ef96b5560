"""What a headless run produced, as typed records: one StageOutcome a stage (from the record the stage wrote,
``stage_records``), the RunResult, and its ``summary.json``."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class StageOutcome:
    number: str
    name: str
    notebook: str
    status: str
    seconds: float
    facts: dict[str, Any] = field(default_factory=dict)
    summary: str = ""
    error: str = ""
    hint: str = ""
    timings: dict[str, Any] = field(default_factory=dict)
    details: str = ""


@dataclass
class RunResult:
    environment: str
    target: str
    stack: str
    run_dir: Path
    stages: list[StageOutcome]
    notices: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(stage.status == "passed" for stage in self.stages)

    @property
    def failed(self) -> StageOutcome | None:
        return next((stage for stage in self.stages if stage.status in ("failed", "interrupted")), None)

    @property
    def interrupted(self) -> bool:
        return any(stage.status == "interrupted" for stage in self.stages)

    @property
    def status(self) -> str:
        return "passed" if self.ok else "interrupted" if self.interrupted else "failed"


def write_summary(result: RunResult) -> Path:
    path = result.run_dir / "summary.json"
    document = {
        "environment": result.environment,
        "target": result.target,
        "stack": result.stack,
        "status": result.status,
        "stages": [asdict(stage) for stage in result.stages],
        "notices": result.notices,
    }
    path.write_text(json.dumps(document, indent=2, default=str))
    return path
