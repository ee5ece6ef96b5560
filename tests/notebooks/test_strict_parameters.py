"""Careless parameters replayed for real: plain papermill and the aipx-runbook console script, as a shell passes them.

papermill leaves `-p auto_approve false` a string, and a non-empty string is truthy: before the registry checked
types, that applied production (and `allow_production_destroy false` destroyed it). Each gate must stop its
stage with FAILED / why / fix and change nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from aipx_runbook import emulator
from aipx_runbook.context import open_stage
from aipx_runbook.terraform import TerraformRunner
from paths import PROJECT_ROOT

pytestmark = pytest.mark.notebooks
BIN = Path(sys.executable).parent


@pytest.fixture
def own_workspace(tmp_path, monkeypatch, workspace):
    monkeypatch.setenv("AIPX_WORKSPACE", str(tmp_path))
    yield tmp_path
    emulator.stop()


def _env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}


def papermill(notebook: str, output: Path, *parameters: str) -> subprocess.CompletedProcess[str]:
    """`papermill notebooks/<nb>.ipynb out.ipynb -p NAME VALUE ...`, exactly as an operator types it."""
    argv = [str(BIN / "papermill"), f"notebooks/{notebook}.ipynb", str(output), "--no-progress-bar"]
    for pair in parameters:
        name, value = pair.split("=", 1)
        argv += ["-p", name, value]
    return subprocess.run(argv, cwd=PROJECT_ROOT, env=_env(), capture_output=True, text=True, timeout=300)


def production_outputs() -> dict:
    return TerraformRunner(open_stage("verify", "production")).outputs()


def test_papermill_text_gates_stop_their_stage_and_change_nothing(own_workspace, tmp_path) -> None:
    for notebook in ("01_backend_setup", "02_init", "03_plan"):
        done = papermill(notebook, tmp_path / f"{notebook}.ipynb", "environment=production")
        assert done.returncode == 0, done.stderr[-3000:]

    refused = papermill(
        "04_apply", tmp_path / "04.ipynb", "environment=production", "auto_approve=false", "confirm=production"
    )
    assert refused.returncode != 0
    assert "FAILED  check the parameters of stage 04 apply" in refused.stderr
    assert "parameter auto_approve is 'false' (a str); it accepts True or False" in refused.stderr
    assert "parameters cell" in refused.stderr and "-p auto_approve True" in refused.stderr
    assert production_outputs() == {}, "nothing was applied"

    applied = papermill(
        "04_apply", tmp_path / "04b.ipynb", "environment=production", "auto_approve=True", "confirm=production"
    )
    assert applied.returncode == 0, applied.stderr[-3000:]
    assert "environment" in production_outputs()

    for notebook, gate in (("05_verify_outputs", "reveal_sensitive=false"), ("01_backend_setup", "fix_drift=no")):
        refused = papermill(notebook, tmp_path / f"{notebook}-refused.ipynb", "environment=production", gate)
        assert refused.returncode != 0, notebook
        assert f"parameter {gate.split('=')[0]} is '{gate.split('=')[1]}'" in refused.stderr

    refused = papermill(
        "06_destroy",
        tmp_path / "06.ipynb",
        "environment=production",
        "confirm=production",
        "allow_production_destroy=false",
    )
    assert refused.returncode != 0
    assert "parameter allow_production_destroy is 'false'" in refused.stderr
    assert "environment" in production_outputs(), "production was not destroyed"


def test_cli_false_is_false_and_stops_at_the_approval(own_workspace) -> None:
    """`aipx-runbook run -p auto_approve=false` reads False: apply asks for approval and applies nothing."""
    done = subprocess.run(
        [str(BIN / "aipx-runbook"), "run", "--env", "dev", "--stages", "01,02,03,04", "-p", "auto_approve=false"]
        + ["--keep-emulator"],
        cwd=PROJECT_ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAIL  04 apply" in done.stdout and "ApprovalRequired" in done.stderr
    assert TerraformRunner(open_stage("verify", "dev")).outputs() == {}
