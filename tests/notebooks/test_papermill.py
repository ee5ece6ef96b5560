"""The real notebooks executed headlessly with papermill, as CI and `make demo` run them."""

from __future__ import annotations

import json
import re
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from aipx_runbook import cli, emulator, runbook
from paths import PROJECT_ROOT

pytestmark = pytest.mark.notebooks
BIN = Path(sys.executable).parent
APPROVALS = {
    "dev": {"auto_approve": True, "confirm": "dev"},
    "staging": {"auto_approve": True, "confirm": "staging"},
    "production": {"auto_approve": True, "confirm": "production", "allow_production_destroy": True},
}


@pytest.fixture
def fresh_workspace(tmp_path, monkeypatch, workspace):
    """A workspace with no emulator running: the run starts its own and stops it."""
    monkeypatch.setenv("AIPX_WORKSPACE", str(tmp_path))
    # Anything that tried to leave this machine would go through this dead proxy and fail.
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALLOOKINGKEY00")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-real-secret")
    yield tmp_path
    emulator.stop()


@pytest.mark.parametrize("environment", ["dev", "staging", "production"])
def test_whole_runbook_runs_headless_for_every_environment(fresh_workspace, environment) -> None:
    result = runbook.run(environment, parameters=APPROVALS[environment])
    assert result.ok, [(s.name, s.error, s.hint) for s in result.stages]
    assert [s.number for s in result.stages] == ["00", "01", "02", "03", "04", "05", "06"]
    assert result.run_dir.parent == fresh_workspace / "runs" / environment
    for stage in runbook.STAGES[:7]:
        executed = nbformat.read(result.run_dir / stage.notebook, as_version=4)
        injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
        assert f'environment = "{environment}"' in injected[0].source
        assert (result.run_dir / stage.notebook).with_suffix(".html").exists()
    summary = json.loads((result.run_dir / "summary.json").read_text())
    assert summary["status"] == "passed" and summary["environment"] == environment
    plan = next(s for s in summary["stages"] if s["name"] == "plan")
    assert plan["facts"]["outputs_changed"] >= 5 and plan["seconds"] > 0
    index = (result.run_dir / "index.html").read_text()
    assert "03_plan.html" in index and f"{environment}: passed" in index
    assert "<dt>plan SHA-256</dt>" in index and "planned cost (USD/month, on demand)" in index, "facts, readable"
    assert "=" not in re.sub(r"<[^>]*>", "", "<" + index.split("<section", 1)[1]), "no raw key=value facts"
    assert 'alt="cost per component per environment"' in index, "the plan's cost chart is on the index page"
    for page in [index] + [p.read_text() for p in result.run_dir.glob("*.html")]:
        assert "mathjax" not in page.lower().replace("tex2jax_ignore mathjax_ignore", ""), "no MathJax"
        assert "cdnjs" not in page and "<script src=" not in page, "self-contained: nothing from a CDN"
    assert not emulator.status().running, "the run stops the emulator it started"


def test_cli_stops_at_the_first_failing_stage_with_exit_1(fresh_workspace, capsys, monkeypatch) -> None:
    monkeypatch.setenv("AIPX_PROGRESS_SECONDS", "0.1")  # every stage may end within a second now
    assert cli.main(["run", "--env", "dev"]) == 1
    captured = capsys.readouterr()
    assert re.search(r"^… 0[0-4] \w+ running \d+ s$", captured.out, re.MULTILINE), "progress while a stage runs"
    assert "PASS  03 plan" in captured.out and "FAIL  04 apply" in captured.out
    assert "stage 04 apply failed: ApprovalRequired" in captured.err
    assert "what to do:" in captured.err and "auto_approve=True" in captured.err
    run_dir = next((fresh_workspace / "runs" / "dev").iterdir())
    summary = json.loads((run_dir / "summary.json").read_text())
    assert [(s["name"], s["status"]) for s in summary["stages"]][-2:] == [("plan", "passed"), ("apply", "failed")]
    assert not (run_dir / "05_verify_outputs.ipynb").exists()


def _papermill(notebook: str, output: Path, environment: str) -> subprocess.CompletedProcess[str]:
    """Plain papermill, one process per stage, exactly as a CI job would call it."""
    return subprocess.run(
        [
            str(BIN / "papermill"),
            f"notebooks/{notebook}.ipynb",
            str(output),
            "-p",
            "environment",
            environment,
            "--no-progress-bar",
        ],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_plain_papermill_stage_by_stage_reuses_the_emulator(fresh_workspace, tmp_path) -> None:
    for notebook in ("01_backend_setup", "02_init", "03_plan"):
        completed = _papermill(notebook, tmp_path / f"{notebook}.out.ipynb", "staging")
        assert completed.returncode == 0, completed.stderr[-2000:]
    first_endpoint = emulator.status().endpoint
    assert first_endpoint, "stage 01 started the emulator and left it running for the next stages"
    plan_meta = json.loads((fresh_workspace / "runs" / "staging" / "current" / "tfplan.meta.json").read_text())
    assert plan_meta["environment"] == "staging" and plan_meta["has_changes"] is True
    completed = _papermill("04_apply", tmp_path / "04.out.ipynb", "staging")
    assert completed.returncode != 0, "apply without auto_approve must fail headless"
    assert "auto_approve" in completed.stderr
    assert emulator.status().endpoint == first_endpoint
