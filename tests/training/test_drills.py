"""Each drill, end to end on a real moto server with the real Terraform, as a trainee does it:

the drill notebook sets the scene (papermill), the check says not yet (the fix skipped), the recorded solution
runs through the runbook's own notebooks with papermill (and the training console or a shell where an
administrator would act by hand), and the check says PASS (`aipx-runbook train DRILL --check`, exit 0).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from drill_helpers import PROJECT_ROOT, outputs_text, papermill

from aipx_runbook import cli, runbook, state, state_restore, training
from aipx_runbook.training import progress, scene

pytestmark = [pytest.mark.integration, pytest.mark.notebooks]


def _set_up(name: str, tmp_path: Path) -> str:
    """The drill's notebook with the defaults: scene set, check run (not yet). Returns its text output."""
    drill = training.find(name)
    executed = papermill(drill.notebook, tmp_path / f"{name}.ipynb")
    text = outputs_text(executed)
    assert "not yet:" in text, text[-2000:]
    return text


def _check(name: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = cli.main(["train", name, "--check"])
    return code, capsys.readouterr().out


def _stage(notebook: str, tmp_path: Path, *parameters: str) -> str:
    return outputs_text(papermill(f"notebooks/{notebook}.ipynb", tmp_path / f"{notebook}.out.ipynb", *parameters))


def _stack(name: str) -> str:
    return f"stack={scene.stack_path(name)}"


def _run(stages: str, stack: str = "", **parameters: object) -> runbook.RunResult:
    """Several stages in one go, as `aipx-runbook run --stages ...` runs the runbook's notebooks (papermill)."""
    path = str(scene.stack_path(stack)) if stack else ""
    result = runbook.run("dev", stack=path, stage_names=stages.split(","), parameters=parameters)
    assert result.ok, [(s.name, s.error, s.hint) for s in result.stages]
    return result


def _skipped_fix_fails(name: str, capsys, *expected: str) -> None:
    """The check without (all of) the fix: exit 1, naming what is still wrong."""
    code, out = _check(name, capsys)
    assert code == 1, out
    not_yet = next(line for line in out.splitlines() if line.startswith("not yet: "))
    for text in expected:
        assert text in not_yet, out
    assert progress.status(name) == "not yet"


def _passes(name: str, capsys) -> None:
    code, out = _check(name, capsys)
    assert code == 0, out
    assert "PASS" in out
    assert progress.status(name) == "passed"


def test_backend_missing(training_workspace, tmp_path, capsys) -> None:
    text = _set_up("backend-missing", tmp_path)
    assert "S3 bucket" in text and "does not exist" in text
    _skipped_fix_fails("backend-missing", capsys, "state bucket s3://aipx-terraform-state: does not exist")
    _stage("01_backend_setup", tmp_path)
    _skipped_fix_fails("backend-missing", capsys, "output environment")
    _run("02,03,04", auto_approve=True)
    _passes("backend-missing", capsys)


def test_permission_denied(training_workspace, tmp_path, capsys) -> None:
    text = _set_up("permission-denied", tmp_path)
    assert "StatusCode: 403" in text
    _skipped_fix_fails("permission-denied", capsys, "denies state access: OnlyCiMayTouchState")
    print(training.console.bucket_policy())
    print(training.console.remove_policy_statement("OnlyCiMayTouchState"))
    plan = _run("02,03").stages[-1]
    assert plan.facts["add"] == 0 and plan.facts["destroy"] == 0, plan.facts
    _passes("permission-denied", capsys)


def test_resource_conflict(training_workspace, tmp_path, capsys) -> None:
    text = _set_up("resource-conflict", tmp_path)
    assert "BucketAlreadyOwnedByYou" in text
    _skipped_fix_fails("resource-conflict", capsys, "still the hand-made one")
    assert "manual-test" in str(training.console.buckets())
    print(training.console.delete_bucket("aipx-dev-data-lake"))
    _run("03,04", "resource-conflict", auto_approve=True)
    _passes("resource-conflict", capsys)


def test_wrong_region(training_workspace, tmp_path, capsys) -> None:
    text = _set_up("wrong-region", tmp_path)
    assert "bucket region (wanted ap-northeast-2, found us-east-1)" in text
    _skipped_fix_fails("wrong-region", capsys, "bucket region: us-east-1 (wanted ap-northeast-2)")
    print(training.console.delete_bucket("aipx-terraform-state"))
    _run("01,02,03,04", auto_approve=True)
    _passes("wrong-region", capsys)


def test_stale_lock(training_workspace, tmp_path, capsys) -> None:
    text = _set_up("stale-lock", tmp_path)
    assert "Error acquiring the state lock" in text
    _skipped_fix_fails("stale-lock", capsys, "state lock: still held")
    lock_id = progress.scene("stale-lock")["lock_id"]
    shown = _stage("07_state_and_locks", tmp_path, _stack("stale-lock"), f"confirm_lock_id={lock_id}")
    assert f"confirm_lock_id='{lock_id}'" in shown, "notebook 07's lock cell names the lock to release"
    assert f"released lock {lock_id}" in shown
    _skipped_fix_fails("stale-lock", capsys, "state s3://")
    _run("03,04", "stale-lock", auto_approve=True)
    _passes("stale-lock", capsys)


def test_backend_drift(training_workspace, tmp_path, capsys) -> None:
    text = _set_up("backend-drift", tmp_path)
    assert "bucket versioning (wanted Enabled, found Suspended)" in text
    _skipped_fix_fails("backend-drift", capsys, "bucket versioning", "bucket public access block")
    _stage("01_backend_setup", tmp_path, "fix_drift=True")
    _passes("backend-drift", capsys)


@pytest.mark.skipif(shutil.which("aws") is None, reason="the restore steps notebook 07 prints use the AWS CLI")
def test_state_restore(training_workspace, tmp_path, capsys) -> None:
    text = _set_up("state-restore", tmp_path)
    assert "terraform_data.database will be created" in text
    _skipped_fix_fails("state-restore", capsys, "terraform_data.database: not in the state")
    shown = _stage("07_state_and_locks", tmp_path, _stack("state-restore"))
    assert "terraform state push -force" in shown
    ctx = scene.context("dev", str(scene.stack_path("state-restore")))
    versions = [v for v in state.versions(ctx) if v["Kind"] == "version"]
    steps = [command for command, _ in state_restore.restore_steps(ctx, versions[1]["VersionId"])]
    assert steps[-1].startswith("aipx-runbook run"), "the last step is a plan; it is run below with the stack"
    script = " && ".join(steps[:-1])
    completed = subprocess.run(
        ["bash", "-c", script], cwd=PROJECT_ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    plan = _run("03", "state-restore").stages[-1]
    assert plan.facts["add"] == 0 and plan.facts["destroy"] == 0, plan.facts
    _passes("state-restore", capsys)


def test_half_applied(training_workspace, tmp_path, capsys) -> None:
    text = _set_up("half-applied", tmp_path)
    assert "strategy-worker.zip is not there" in text
    _skipped_fix_fails("half-applied", capsys, "tainted")
    assert _run("07", "half-applied").ok, "07: what the state holds, and no lock left"
    plan = _run("03,04", "half-applied", auto_approve=True).stages[0]
    assert (plan.facts["add"], plan.facts["destroy"]) == (1, 1), "only the tainted function is made again"
    _passes("half-applied", capsys)


def test_stale_plan(training_workspace, tmp_path, capsys) -> None:
    text = _set_up("stale-plan", tmp_path)
    assert "changed since the plan was made" in text
    _skipped_fix_fails("stale-plan", capsys, "state s3://")
    _run("03,04", "stale-plan", auto_approve=True)
    _passes("stale-plan", capsys)
    listing = cli.main(["train"])
    out = capsys.readouterr().out
    assert listing == 0 and "stale-plan" in out
    assert json.loads(progress.path().read_text())["drills"]["stale-plan"]["status"] == "passed"
