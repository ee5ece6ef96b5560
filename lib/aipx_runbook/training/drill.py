"""What a drill is: its story, what it teaches, its setup and its check, and the hints a trainee may unfold."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..context import StageContext
from ..errors import BackendError, RunbookError
from ..results import Report
from .inspect import Finding

# How a drill on its own stack asks the trainee to run the runbook.
STACK_NOTE = "the runbook's notebooks with `stack` set to the drill stack's path (shown when the drill is set up)"
DRILL_STACK_PIPELINE = "stages 03 (plan) and 04 (apply, auto_approve=True)"


@dataclass
class Scene:
    """What a setup did: its report for the trainee, and the facts its check compares with later."""

    report: Report
    remembered: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Drill:
    number: str
    name: str
    title: str
    goal: str
    teaches: str
    minutes: int
    # "smoke" or the name of a drill stack under training/stacks/
    stack: str
    story: str
    sees: str
    task: str
    hints: tuple[str, ...]
    setup: Callable[[StageContext], Scene]
    check: Callable[[StageContext, dict[str, Any]], list[Finding]]
    # the row of the stack README's troubleshooting table this drill covers, if any
    row: str = ""

    @property
    def notebook(self) -> str:
        return f"notebooks/training/{self.number}_{self.name.replace('-', '_')}.ipynb"


def failed_scene(title: str, done: list[str], error: RunbookError, **remembered: Any) -> Scene:
    """What the setup did, and the failure an operator now meets, as the runbook shows it; ``remembered``: the
    facts the drill's check compares with later."""
    report = Report(title, "warn", f"{error.what} fails: {error.why}")
    report.notes += [f"scene: {line}" for line in done]
    report.notes.append(f"the runbook's advice: {error.fix}")
    details = "\n".join(line for line in error.details.splitlines() if line.strip())[:1500]
    if details and not isinstance(error, BackendError):  # its summary already lists every setting
        report.notes.append("what Terraform or AWS said:\n" + details)
    return Scene(report, remembered)
