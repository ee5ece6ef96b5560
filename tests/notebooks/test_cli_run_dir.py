"""`aipx-runbook run --run-dir` applies the plan an earlier run saved, and `--region` reaches every stage."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aipx_runbook import emulator
from paths import PROJECT_ROOT

pytestmark = pytest.mark.notebooks
BIN = Path(sys.executable).parent


def _cli(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        [str(BIN / "aipx-runbook"), *argv], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600
    )


def test_a_plan_from_an_earlier_run_is_applied_from_the_cli(tmp_path, monkeypatch, workspace) -> None:
    monkeypatch.setenv("AIPX_WORKSPACE", str(tmp_path))
    try:
        planned = _cli("run", "--env", "dev", "--stages", "01,02,03", "--region", "us-west-2", "--keep-emulator")
        assert planned.returncode == 0, planned.stdout + planned.stderr
        run_dir = next((tmp_path / "runs" / "dev").iterdir())
        injected = json.loads((run_dir / "03_plan.ipynb").read_text())["cells"]
        assert any('region = "us-west-2"' in "".join(c["source"]) for c in injected), "--region reached the stage"

        applied = _cli(
            "run", "--env", "dev", "--stages", "apply", "--region", "us-west-2", "--run-dir", str(run_dir),
            "-p", "auto_approve=True",
        )  # fmt: skip
        assert applied.returncode == 0, applied.stdout + applied.stderr
        assert "PASS  04 apply" in applied.stdout
        assert "applied the saved plan" in json.loads((run_dir / "stages" / "apply.json").read_text())["summary"]
        assert len(list((tmp_path / "runs" / "dev").iterdir())) == 1, "no new run directory"
    finally:
        emulator.stop()
