"""The project's error types: every failure says what failed, why, and what to do next."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar


class RunbookError(Exception):
    """A failure a user can act on.

    ``what`` names the step that failed, ``why`` the cause, ``fix`` what to do next.
    In a notebook the error renders as those three lines instead of a Python traceback.
    """

    on_render: ClassVar[Callable[[Any], Any] | None] = None

    def __init__(self, what: str, why: str, fix: str, *, details: str = "") -> None:
        self.what = what
        self.why = why
        self.fix = fix
        self.details = details
        super().__init__(f"{what}: {why}")

    @property
    def hint(self) -> str:
        return self.fix

    def describe(self) -> str:
        lines = [f"FAILED  {self.what}", f"why:    {self.why}", f"fix:    {self.fix}"]
        if self.details:
            lines += ["", self.details]
        return "\n".join(lines)

    def _render_traceback_(self) -> list[str]:
        if RunbookError.on_render is not None:  # the stage's typed failure record (stage_records.py)
            RunbookError.on_render(self)
        return [f"{type(self).__name__}: " + self.describe()]


class UsageError(RunbookError):
    """A name or parameter that does not exist (unknown environment, stage, stack, parameter)."""

    def __init__(self, why: str, fix: str = "check the spelling against the list above") -> None:
        super().__init__("invalid usage", why, fix)


class EmulatorError(RunbookError):
    """The local AWS emulator could not be started, reached or stopped."""


class TerraformError(RunbookError):
    """A Terraform command exited with an error (``interrupted`` when a Ctrl-C stopped it)."""

    interrupted = False

    def __init__(self, command: str, returncode: int, stderr: str, why: str, fix: str) -> None:
        self.command = command
        self.returncode = returncode
        self.stderr = stderr
        super().__init__(f"terraform {command}", why, fix, details=stderr.strip())


class ApprovalRequired(RunbookError):
    """A destructive step was not approved explicitly."""


class BackendError(RunbookError):
    """The Terraform state backend (bucket, lock table) is missing, foreign or not compliant."""


class PrerequisiteError(RunbookError):
    """A prerequisite check failed."""
