"""nbval replays the committed notebooks and compares their stored outputs (from a dev run).

Cells that apply or destroy carry `nbval-skip`: nbval never approves a destructive step. Between
04 and 05 this test approves and applies the saved plan itself, as an operator would.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from aipx_runbook import emulator, stages
from paths import PROJECT_ROOT

pytestmark = pytest.mark.notebooks
SANITIZE = Path(__file__).with_name("nbval_sanitize.cfg")
BEFORE_APPLY = ["00_prerequisites", "01_backend_setup", "02_init", "03_plan", "04_apply"]
AFTER_APPLY = ["05_verify_outputs", "07_state_and_locks", "08_budget", "06_destroy"]


def _nbval(notebooks: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    paths = [f"notebooks/{name}.ipynb" for name in notebooks]
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval",
            *paths,
            "--nbval-sanitize-with",
            str(SANITIZE),
            "-p",
            "no:xdist",
            "-p",
            "no:cacheprovider",
            "-q",
            "-o",
            "addopts=",
            "--rootdir",
            str(PROJECT_ROOT),
        ],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_committed_notebooks_replay_with_their_stored_outputs(tmp_path, monkeypatch, workspace) -> None:
    monkeypatch.setenv("AIPX_WORKSPACE", str(tmp_path))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    try:
        first = _nbval(BEFORE_APPLY, env)
        assert first.returncode == 0, first.stdout[-4000:]
        stages.apply(stages.start("apply", "dev"), auto_approve=True)
        second = _nbval(AFTER_APPLY, env)
        assert second.returncode == 0, second.stdout[-4000:]
    finally:
        emulator.stop()


def test_committed_notebooks_hold_no_errors_and_no_papermill_leftovers() -> None:
    for path in sorted((PROJECT_ROOT / "notebooks").glob("*.ipynb")):
        text = path.read_text()
        assert '"output_type": "error"' not in text, f"{path.name} holds an error output"
        assert "injected-parameters" not in text and "papermill-error-cell-tag" not in text, path.name
