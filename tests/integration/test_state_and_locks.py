"""Notebook 07's library calls: state list/show, lock inspection and release, state versions and restore.

The stack here is written per test: terraform_data resources (built into Terraform, nothing to download) with a
sensitive input, and one whose local-exec provisioner sleeps, so that a real `terraform apply` holds the real lock
while it is killed with SIGKILL: the stale lock is Terraform's own, not an imitation.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from python_terraform import IsFlagged

import moto_api
from aipx_runbook import emulator, runbook, stages, state, state_restore, tfprocess
from aipx_runbook.context import StageContext
from aipx_runbook.errors import ApprovalRequired, RunbookError, TerraformError
from aipx_runbook.terraform import TerraformRunner

pytestmark = pytest.mark.integration
SECRET = "hunter2-not-for-output"
STACK = """
terraform {
  backend "s3" {}
}

variable "secret" {
  type      = string
  default   = "SECRET_VALUE"
  sensitive = true
}

variable "pause" {
  type    = number
  default = 0
}

variable "extra" {
  type    = bool
  default = false
}

resource "terraform_data" "plain" {
  input = "hello"
}

resource "terraform_data" "database" {
  input = { name = "db", password = var.secret }
}

resource "terraform_data" "extra" {
  count = var.extra ? 1 : 0
  input = "added later"
}

resource "terraform_data" "slow" {
  count = var.pause > 0 ? 1 : 0
  input = var.pause
  provisioner "local-exec" {
    command = "sleep ${var.pause}"
  }
}
""".replace("SECRET_VALUE", SECRET)


@pytest.fixture
def stack(tmp_path: Path) -> Path:
    folder = tmp_path / "locks-stack"
    folder.mkdir()
    (folder / "main.tf").write_text(STACK)
    return folder


@pytest.fixture
def state_ctx(stage_context, tmp_path):
    """Stage 07 of a stack, dev, as its notebook opens it, with the given locking (dynamodb or s3)."""

    def opened(stack: Path, locking: str = "dynamodb") -> StageContext:
        ctx = stage_context("state", stack=stack, run_dir=tmp_path)
        return dataclasses.replace(ctx, settings=dataclasses.replace(ctx.settings, locking=locking))

    return opened


def _apply(ctx, **variables) -> None:
    runner = TerraformRunner(ctx)
    private = tfprocess.TerraformProcess("apply", ctx.run_dir)
    argv = runner.command_line(
        private, "apply", auto_approve=IsFlagged, input=False, no_color=IsFlagged, var=variables or None
    )
    completed = subprocess.run(argv, cwd=ctx.stack_dir, env=runner.environment(), capture_output=True, text=True)
    shutil.rmtree(private.folder, ignore_errors=True)
    assert completed.returncode == 0, completed.stderr


def _deployed(ctx) -> None:
    stages.backend_setup(ctx)
    TerraformRunner(ctx).init()
    _apply(ctx)


def _killed_apply(ctx) -> None:
    """A real apply, SIGKILLed while its provisioner runs: it leaves its lock behind, as a cancelled CI job does."""
    runner = TerraformRunner(ctx)
    private = tfprocess.TerraformProcess("apply", ctx.run_dir)
    argv = runner.command_line(
        private, "apply", auto_approve=IsFlagged, input=False, no_color=IsFlagged, var={"pause": 300}
    )
    process = subprocess.Popen(
        argv,
        cwd=ctx.stack_dir,
        env=runner.environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if "Provisioning with 'local-exec'" in line:
            break
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    process.stdout.close()
    shutil.rmtree(private.folder, ignore_errors=True)


def test_state_list_and_show_mask_what_is_sensitive(state_ctx, moto_server, reset_emulator, tmp_path, stack) -> None:
    ctx = state_ctx(stack)
    _deployed(ctx)
    listing = stages.state_list(ctx)
    assert [row[0] for row in listing.tables[0].rows] == ["terraform_data.database", "terraform_data.plain"]
    assert listing.facts == {"resources": 2}
    report = stages.state_show(ctx, "terraform_data.database")
    values = dict(report.tables[0].rows)
    assert values["input.name"] == "db" and values["output.name"] == "db"
    assert values["input.password"] == state.MASK  # marked sensitive by Terraform
    assert values["output.password"] == state.MASK  # not marked in the state, masked by its name
    assert report.facts == {"address": "terraform_data.database", "masked": 2}
    assert SECRET not in str(report) + report._repr_html_()
    plain = dict(stages.state_show(ctx, "terraform_data.plain").tables[0].rows)
    assert plain["input"] == "hello"


def test_show_without_an_address_or_with_a_wrong_one_says_what_to_pass(
    state_ctx, moto_server, reset_emulator, tmp_path, stack
) -> None:
    ctx = state_ctx(stack)
    _deployed(ctx)
    assert stages.state_show(ctx, "").status == "info"
    with pytest.raises(RunbookError) as caught:
        stages.state_show(ctx, "terraform_data.databse")
    assert caught.value.why == "the state of dev has no resource terraform_data.databse"
    assert "terraform_data.database" in caught.value.fix


@pytest.mark.parametrize("locking", ["dynamodb", "lockfile", "both"])
def test_a_stale_lock_of_a_killed_apply_shows_its_age_and_is_released_only_with_its_id(
    state_ctx, moto_server, reset_emulator, tmp_path, stack, locking
) -> None:
    ctx = state_ctx(stack, locking)
    _deployed(ctx)
    _killed_apply(ctx)
    locks = state.held_locks(ctx)
    expected_places = {"dynamodb": 1, "lockfile": 1, "both": 2}[locking]
    assert len(locks) == expected_places and len({lock.id for lock in locks}) == 1
    lock = locks[0]
    assert lock.operation == "OperationTypeApply" and lock.version == "1.11.4" and "@" in lock.who

    report = stages.lock_status(ctx)
    assert report.status == "warn"
    assert report.facts["lock_held"] is True and report.facts["lock_id"] == lock.id
    assert report.facts["age_seconds"] >= 0
    row = report.tables[0].rows[0]
    assert row[1:4] == [lock.id, lock.who, "apply"] and row[4] == lock.since and row[5].endswith(" s")
    assert f"confirm_lock_id='{lock.id}'" in report.notes[-1]

    with pytest.raises(TerraformError) as blocked:
        TerraformRunner(ctx, lock_timeout="1s").plan(tmp_path / "tfplan")
    assert f"held by {lock.who} (apply) since {lock.since}" in blocked.value.why
    assert f"confirm_lock_id='{lock.id}'" in blocked.value.fix

    not_asked = stages.release_lock(ctx)
    assert not_asked.status == "warn" and not_asked.facts["released"] is False
    with pytest.raises(ApprovalRequired) as wrong:
        stages.release_lock(ctx, confirm_lock_id="00000000-0000-0000-0000-000000000000")
    assert f"is not the held lock's ID: lock {lock.id}" in wrong.value.why and "nothing was changed" in wrong.value.why
    assert [held.id for held in state.held_locks(ctx)] == [lock.id] * expected_places

    released = stages.release_lock(ctx, confirm_lock_id=lock.id)
    assert released.status == "changed" and released.facts["released"] is True
    assert state.held_locks(ctx) == []
    result = TerraformRunner(ctx, lock_timeout="1s").plan(tmp_path / "tfplan")
    assert result.returncode in (0, 2)


def test_release_when_no_lock_is_held_changes_nothing(state_ctx, moto_server, reset_emulator, tmp_path, stack) -> None:
    ctx = state_ctx(stack)
    _deployed(ctx)
    assert stages.lock_status(ctx).facts == {"lock_held": False}
    report = stages.release_lock(ctx, confirm_lock_id="0b1c2d3e")
    assert report.status == "ok" and "lock 0b1c2d3e is not held any more" in report.summary


def test_lock_inspection_before_stage_01_points_at_it(state_ctx, moto_server, reset_emulator, tmp_path, stack) -> None:
    with pytest.raises(RunbookError) as caught:
        stages.lock_status(state_ctx(stack))
    assert caught.value.fix == "run stage 01 (backend setup) first"


def _aws_cli_works() -> bool:
    binary = shutil.which("aws")
    return binary is not None and subprocess.run([binary, "--version"], capture_output=True).returncode == 0


def test_the_printed_restore_commands_bring_back_an_earlier_state(
    state_ctx, moto_server, reset_emulator, tmp_path, stack
):
    ctx = state_ctx(stack)
    _deployed(ctx)
    _apply(ctx, extra=True)
    assert "terraform_data.extra[0]" in TerraformRunner(ctx).state_list()

    report = stages.state_versions(ctx)
    assert report.facts["state_versions"] == 2
    versions = [row[1] for row in report.tables[0].rows]
    assert [row[4] for row in report.tables[0].rows] == [True, False]
    steps = state_restore.restore_steps(ctx, versions[1])
    assert [f"{command}    # {why}" for command, why in steps] == report.notes[-len(steps) :]

    commands = [command for command, _ in steps[:-2]]  # all but the cleanup and the runbook's own plan
    if not _aws_cli_works():
        s3 = ctx.target.client("s3")
        body = s3.get_object(Bucket=ctx.settings.state_bucket, Key=ctx.settings.state_key, VersionId=versions[1])
        (tmp_path / "restored.tfstate").write_bytes(body["Body"].read())
        commands[3] = f'cp {tmp_path / "restored.tfstate"} "$RESTORE/restored.tfstate"'
    script = "set -euo pipefail\n" + "\n".join(commands) + '\necho "$RESTORE"\n'
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    completed = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    folder = Path(completed.stdout.strip().splitlines()[-1])
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    shutil.rmtree(folder)

    assert TerraformRunner(ctx).state_list() == ["terraform_data.database", "terraform_data.plain"]
    assert state.held_locks(ctx) == []
    assert stages.state_versions(ctx).facts["state_versions"] == 3


@pytest.fixture
def notebook_emulator(moto_server: str) -> str:
    """The emulator a notebook's open_stage finds through the workspace, emptied first."""
    endpoint = emulator.endpoint()
    moto_api.empty(endpoint)
    return endpoint


@pytest.mark.notebooks
def test_notebook_07_runs_headless_and_releases_only_with_the_right_id(state_ctx, notebook_emulator, tmp_path, stack):
    ctx = state_ctx(stack)
    _deployed(ctx)
    _killed_apply(ctx)
    lock = state.held_locks(ctx)[0]

    wrong = runbook.run("dev", stack=str(stack), stage_names=["state"], parameters={"confirm_lock_id": "nope"})
    assert not wrong.ok and "ApprovalRequired" in wrong.stages[0].error
    assert [held.id for held in state.held_locks(ctx)] == [lock.id]

    looked = runbook.run("dev", stack=str(stack), stage_names=["state"])
    assert looked.ok and looked.stages[0].facts["lock_held"] is True and looked.stages[0].facts["released"] is False

    released = runbook.run("dev", stack=str(stack), stage_names=["07"], parameters={"confirm_lock_id": lock.id})
    assert released.ok, released.stages[0].error
    assert released.stages[0].facts["released"] is True
    assert state.held_locks(ctx) == []
    executed = (released.run_dir / "07_state_and_locks.ipynb").read_text()
    assert SECRET not in executed


@pytest.mark.notebooks
def test_a_sensitive_value_never_reaches_the_executed_notebook(state_ctx, notebook_emulator, tmp_path, stack) -> None:
    ctx = state_ctx(stack)
    _deployed(ctx)
    result = runbook.run(
        "dev", stack=str(stack), stage_names=["state"], parameters={"state_address": "terraform_data.database"}
    )
    assert result.ok, result.stages[0].error
    executed = (result.run_dir / "07_state_and_locks.ipynb").read_text()
    assert state.MASK in executed and SECRET not in executed
    assert SECRET not in (result.run_dir / "summary.json").read_text()


def test_state_versions_of_an_environment_without_state(
    state_ctx, moto_server, reset_emulator, tmp_path, stack
) -> None:
    ctx = state_ctx(stack)
    stages.backend_setup(ctx)
    report = stages.state_versions(ctx)
    assert report.status == "info" and "does not exist yet" in report.summary
