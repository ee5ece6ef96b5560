"""Terraform's own log (TF_LOG=info) is kept for the commands that may take a state lock, where it proves a lock
this process's own (locks.py); the commands that take none run without it: with TF_LOG set, Terraform formats
every debug and trace message of its core, and `terraform show -json` of a plan runs in every stage 03.
A user's own TF_LOG and TF_LOG_PATH never send a log outside the private store. Real Terraform, moto backend."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from python_terraform import IsFlagged

from aipx_runbook import locks, stages
from aipx_runbook.terraform import TerraformRunner

pytestmark = pytest.mark.integration


def test_locking_commands_keep_their_log_and_the_others_run_without_one(
    stage_context, reset_emulator: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = tmp_path / "run"
    stages.backend_setup(stage_context("backend", stack="smoke", run_dir=run_dir))
    stages.init(stage_context("init", stack="smoke", run_dir=run_dir))
    user_log = tmp_path / "user-trace.log"
    monkeypatch.setenv("TF_LOG", "trace")
    monkeypatch.setenv("TF_LOG_PATH", str(user_log))
    runner = TerraformRunner(stage_context("plan", stack="smoke", run_dir=run_dir))
    plan_file = tmp_path / "tfplan"

    planned = runner.plan(plan_file)
    assert locks.ATTEMPT.search(planned.log), "the plan's log names the lock it attempted"
    assert "[TRACE]" not in planned.log, "at the runner's level, not the user's"
    shown = runner.run("show", str(plan_file), json=IsFlagged, no_color=IsFlagged)
    assert json.loads(shown.stdout)["planned_values"] and shown.log == ""
    assert "[TRACE]" not in shown.stderr and "[INFO]" not in shown.stderr, "no log on stderr either"
    assert runner.run("output", json=IsFlagged, no_color=IsFlagged).log == ""
    assert not user_log.exists()
