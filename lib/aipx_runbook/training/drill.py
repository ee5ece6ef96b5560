"""What a drill is: its story, what it teaches, its setup and its check, and the hints a trainee may unfold."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..context import StageContext
from ..results import Report
from .inspect import Finding


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
