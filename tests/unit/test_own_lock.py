"""A lock the failed command took itself (its SDK retried the lock write) is recognised; nothing else is."""

from __future__ import annotations

import getpass
import re
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aipx_runbook.terraform import CommandResult, orphaned_own_lock

CAPTURED = (Path(__file__).parents[1] / "data" / "errors" / "state-locked.txt").read_text()
ME = f"{getpass.getuser()}@{socket.gethostname()}"


def _failure(command: str, who: str, operation: str, created: datetime) -> CommandResult:
    text = re.sub(r"Who:\s+\S+", f"Who:       {who}", CAPTURED)
    text = re.sub(r"Operation:\s+\S+", f"Operation: {operation}", text)
    text = re.sub(r"Created:\s+[^\n]+", f"Created:   {created:%Y-%m-%d %H:%M:%S.%f} +0000 UTC", text)
    return CommandResult(command, 1, "", text, 21.0)


@pytest.fixture
def started() -> datetime:
    return datetime.now(UTC) - timedelta(seconds=21)


def test_a_lock_this_plan_took_is_recognised_by_its_id(started, tmp_path) -> None:
    failure = _failure("plan", ME, "OperationTypePlan", started + timedelta(seconds=1))
    assert orphaned_own_lock(failure, started, tmp_path) == "af08fa65-dbec-c370-678a-8bbfa8c46f48"


@pytest.mark.parametrize(
    ("command", "who", "operation", "offset"),
    [
        ("plan", "someone@elsewhere", "OperationTypePlan", 1),  # another machine's run
        ("plan", ME, "OperationTypeApply", 1),  # another operation
        ("apply", ME, "OperationTypePlan", 1),
        ("plan", ME, "OperationTypePlan", -30),  # held before this command started
        ("init", ME, "OperationTypePlan", 1),  # a command that takes no lock
    ],
)
def test_any_other_lock_is_left_alone(started, tmp_path, command, who, operation, offset) -> None:
    failure = _failure(command, who, operation, started + timedelta(seconds=offset))
    assert orphaned_own_lock(failure, started, tmp_path) == ""


def test_an_error_without_lock_info_is_not_a_lock(started, tmp_path) -> None:
    assert orphaned_own_lock(CommandResult("plan", 1, "", "Error: Invalid value", 1.0), started, tmp_path) == ""
