"""Ctrl-C and kill -9 of a real `aipx-runbook run` during a real apply (a stack whose local-exec sleeps).

- Ctrl-C (SIGINT to the runner's process group, as a terminal sends it): Terraform gets one interrupt and stops
  gracefully, the lock is released, summary.json and index.html mark the stage "interrupted", exit 130, and
  no traceback is printed.
- kill -9 of the runner: Terraform runs in its own session and writes to files it owns, so it finishes on its
  own instead of dying on a broken pipe; the lock is released, the state holds what it created, and the next run
  says what happened. The runner's kernels (each in a session of its own) and the process they were forked from
  see their parent gone and leave.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from aipx_runbook.processes import alive
from kernel_processes import with_environment
from paths import PROJECT_ROOT

pytestmark = pytest.mark.integration
CLI = [sys.executable, "-m", "aipx_runbook.cli"]
STACK = """
terraform {
  backend "s3" {}
}

resource "terraform_data" "slow" {
  input = "created"
  provisioner "local-exec" {
    command = "sleep 10; echo ${self.id} >> ${path.module}/created.txt"
  }
}
"""


@pytest.fixture
def setting(tmp_path):
    workspace = tmp_path / "ws"
    workspace.mkdir()
    stack = tmp_path / "slowstack"
    stack.mkdir()
    (stack / "main.tf").write_text(STACK)
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env.update(AIPX_WORKSPACE=str(workspace), AIPX_PROJECT_ROOT=str(PROJECT_ROOT))
    yield workspace, stack, env
    subprocess.run([*CLI, "emulator", "stop"], env=env, capture_output=True, timeout=60)


def _start_run(env: dict[str, str], stack: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            *CLI,
            "run",
            "--env",
            "dev",
            "--stack",
            str(stack),
            "--stages",
            "00,01,02,03,04",
            "-p",
            "auto_approve=True",
            "--keep-emulator",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _wait_for_apply(workspace: Path, runner: subprocess.Popen[str]) -> dict:
    """The apply's process record, once Terraform is inside the provisioner's sleep."""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        assert runner.poll() is None, runner.communicate()
        for record in (workspace / ".aipx" / "terraform-processes").glob("*/process.json"):
            try:
                process = json.loads(record.read_text())
                output = (record.parent / "stdout").read_text()
            except (OSError, ValueError):
                continue
            if process["command"] == "apply" and "Provisioning with 'local-exec'" in output:
                return process
        time.sleep(0.2)
    raise AssertionError("the apply never started")


def _wait_gone(pid: int, seconds: float = 120) -> None:
    _wait_until(lambda: not alive(pid), f"process {pid} ends", seconds)


def _wait_until(condition: Callable[[], bool], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.2)


def _lock_status(env: dict[str, str], stack: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "run", "--env", "dev", "--stack", str(stack), "--stages", "state"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_ctrl_c_during_apply_stops_terraform_gracefully_and_writes_the_summary(setting) -> None:
    workspace, stack, env = setting
    runner = _start_run({**env}, stack)
    terraform = _wait_for_apply(workspace, runner)
    os.killpg(runner.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the runner's whole process group
    out, err = runner.communicate(timeout=300)
    assert runner.returncode == 130, out + err
    assert "Traceback" not in out + err and "KeyboardInterrupt" not in out + err
    _wait_gone(terraform["pid"])
    run_dir = Path(next(line for line in out.splitlines() if line.startswith("report: "))[8:]).parent
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "interrupted"
    assert summary["stages"][-1]["name"] == "apply" and summary["stages"][-1]["status"] == "interrupted"
    assert (run_dir / "index.html").exists() and "interrupted" in (run_dir / "index.html").read_text()
    assert "State lock: released" in err
    assert "no lock held" in _lock_status(env, stack).stdout


def test_kill_9_of_the_runner_lets_terraform_finish_and_the_next_run_says_so(setting) -> None:
    workspace, stack, env = setting
    runner = _start_run({**env}, stack)
    terraform = _wait_for_apply(workspace, runner)
    assert {process.kind for process in with_environment("AIPX_WORKSPACE", str(workspace))} == {"forked", "zygote"}
    os.killpg(runner.pid, signal.SIGKILL)
    runner.communicate(timeout=60)
    _wait_until(lambda: not with_environment("AIPX_WORKSPACE", str(workspace)), "the killed runner's kernels end")
    _wait_gone(terraform["pid"])  # it was not killed with its runner: it ends on its own, after its sleep
    assert (stack / "created.txt").exists(), "Terraform finished the apply on its own"
    status = _lock_status(env, stack)
    assert status.returncode == 0, status.stdout + status.stderr
    assert "outlived its killed runner and ended on its own: Apply complete!" in status.stdout
    assert "no lock held" in status.stdout
