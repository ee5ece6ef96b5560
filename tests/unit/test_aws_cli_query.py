"""The AWS CLI's version can be asked ahead (a prerequisites kernel started early does, kernel_preload.preload): the
check then takes that answer instead of running the CLI again, and only when it is the CLI found on PATH now."""

from __future__ import annotations

from pathlib import Path

import pytest

from aipx_runbook import aws_cli, prereqs


def _fake_aws(folder: Path, version: str, calls: Path) -> Path:
    folder.mkdir()
    script = folder / "aws"
    script.write_text(f"#!/bin/sh\necho {folder.name} >> {calls}\necho '{version} Python/3.11 Linux botocore/2'\n")
    script.chmod(0o755)
    return folder


@pytest.fixture(autouse=True)
def no_answers_left(monkeypatch) -> None:
    monkeypatch.setattr(aws_cli, "_asked", {})


def test_the_answer_asked_ahead_is_used_and_the_cli_runs_once(tmp_path, monkeypatch) -> None:
    calls = tmp_path / "calls"
    monkeypatch.setenv("PATH", f"{_fake_aws(tmp_path / 'v2', 'aws-cli/2.17.0', calls)}:/usr/bin:/bin")
    aws_cli.ask_ahead()
    check = prereqs.check_aws_cli()
    assert (check.found, check.ok) == ("aws-cli/2.17.0", True)
    assert calls.read_text().split() == ["v2"]


def test_an_answer_of_another_cli_than_the_one_on_path_now_is_not_used(tmp_path, monkeypatch) -> None:
    calls = tmp_path / "calls"
    monkeypatch.setenv("PATH", f"{_fake_aws(tmp_path / 'v2', 'aws-cli/2.17.0', calls)}:/usr/bin:/bin")
    aws_cli.ask_ahead()
    monkeypatch.setenv("PATH", f"{_fake_aws(tmp_path / 'v1', 'aws-cli/1.45.0', calls)}:/usr/bin:/bin")
    check = prereqs.check_aws_cli()
    assert (check.found, check.ok) == ("aws-cli/1.45.0", False)
    [unused] = aws_cli._asked.values()  # the answer of the CLI that left PATH: still asked, never taken
    assert unused.result(timeout=30) == "aws-cli/2.17.0"  # its thread may run late on a loaded machine
    assert sorted(calls.read_text().split()) == ["v1", "v2"]
