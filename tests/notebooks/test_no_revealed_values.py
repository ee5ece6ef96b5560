"""No notebook under notebooks/ may hold a value a sensitive Terraform output produced, and the shipped
pre-commit hook refuses a commit that would add one.

The secret values are the real ones: the smoke stack applied by the real Terraform binary for every environment
(a local backend in a copy, so nothing else is touched). The planted notebook holds what stage 05 really renders
with reveal_sensitive=True in an interactive session (the only thing doubled here is the "a person is at the
keyboard" answer, which a test process cannot give).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from aipx_runbook import config, interactive, notebook_guard, stages
from paths import PROJECT_ROOT

NOTEBOOKS = sorted((PROJECT_ROOT / "notebooks").rglob("*.ipynb"))


@pytest.fixture(scope="module")
def smoke_secrets(tmp_path_factory) -> list[str]:
    """The values of the smoke stack's sensitive outputs, from a real apply per environment."""
    values = []
    for environment in config.known_environments():
        stack = Path(shutil.copytree(PROJECT_ROOT / "terraform" / "smoke", tmp_path_factory.mktemp(environment) / "s"))
        (stack / "backend_override.tf").write_text('terraform {\n  backend "local" {}\n}\n')
        run = {"cwd": stack, "capture_output": True, "text": True, "check": True}
        subprocess.run(["terraform", "init", "-input=false", "-no-color"], **run)
        subprocess.run(
            ["terraform", "apply", "-auto-approve", "-input=false", f"-var=environment={environment}"], **run
        )
        outputs = json.loads(subprocess.run(["terraform", "output", "-json"], **run).stdout)
        values += [str(item["value"]) for item in outputs.values() if item["sensitive"]]
    assert values, "the smoke stack marks database_endpoint sensitive"
    return values


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_committed_notebooks_hold_no_sensitive_output(notebook, smoke_secrets) -> None:
    assert notebook_guard.findings(notebook, smoke_secrets) == []


@pytest.fixture
def revealed_notebook(stage_context, moto_server, reset_emulator, tmp_path, monkeypatch, smoke_secrets) -> Path:
    """notebooks/05_verify_outputs.ipynb with stage 05's real rendering of revealed outputs in its outputs cell."""
    monkeypatch.delenv("AIPX_HEADLESS", raising=False)
    monkeypatch.setattr(interactive, "is_interactive", lambda: True)  # a person at the keyboard: see the module doc

    def at(name: str):
        return stage_context(name, stack="smoke", run_dir=tmp_path / "run")

    stages.backend_setup(at("backend"))
    stages.init(at("init"))
    stages.plan(at("plan"))
    stages.apply(at("apply"), auto_approve=True)
    report = stages.outputs(at("verify"), reveal_sensitive=True)
    assert any(secret in str(report) for secret in smoke_secrets), "the value really is shown"

    notebook = nbformat.read(PROJECT_ROOT / "notebooks" / "05_verify_outputs.ipynb", as_version=4)
    cell = next(c for c in notebook.cells if c.cell_type == "code" and "stages.outputs(" in c.source)
    cell.outputs = [
        nbformat.v4.new_output(
            "execute_result", {"text/html": report._repr_html_(), "text/plain": str(report)}, execution_count=4
        )
    ]
    folder = tmp_path / "repo" / "notebooks"
    folder.mkdir(parents=True)
    nbformat.write(notebook, folder / "05_verify_outputs.ipynb")
    return folder / "05_verify_outputs.ipynb"


def test_the_guard_finds_a_revealed_value(revealed_notebook, smoke_secrets) -> None:
    found = notebook_guard.findings(revealed_notebook, smoke_secrets)
    assert any("revealed sensitive values here" in line for line in found), found
    assert any("sensitive output database_endpoint is shown unmasked" in line for line in found), found
    assert any("holds the value of a sensitive output" in line for line in found), found
    # Without the marker note and without knowing the value, the unmasked row alone is still found.
    text = revealed_notebook.read_text().replace(notebook_guard.REVEALED_MARKER, "")
    alone = notebook_guard.findings_in(text, "planted")
    assert alone and all("database_endpoint is shown unmasked" in line for line in alone), alone


def test_the_shipped_hook_refuses_the_commit(revealed_notebook) -> None:
    repo = revealed_notebook.parents[1]
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false"]
    env = {**os.environ, "AIPX_PYTHON": sys.executable, "AIPX_PROJECT_ROOT": str(PROJECT_ROOT)}
    run = {"cwd": repo, "env": env, "capture_output": True, "text": True}
    subprocess.run(["git", "init", "-q"], check=True, **run)
    subprocess.run([*git, "add", "notebooks"], check=True, **run)
    hooks = f"core.hooksPath={PROJECT_ROOT / '.githooks'}"
    refused = subprocess.run([*git, "-c", hooks, "commit", "-q", "-m", "revealed"], **run)
    assert refused.returncode != 0
    assert "database_endpoint is shown unmasked" in refused.stderr and "refused: clear these outputs" in refused.stderr
    assert subprocess.run(["git", "rev-parse", "--verify", "HEAD"], **run).returncode != 0, "nothing was committed"

    clean = PROJECT_ROOT / "notebooks" / "05_verify_outputs.ipynb"
    shutil.copy(clean, revealed_notebook)
    subprocess.run([*git, "add", "notebooks"], check=True, **run)
    accepted = subprocess.run([*git, "-c", hooks, "commit", "-q", "-m", "masked"], **run)
    assert accepted.returncode == 0, accepted.stderr


def test_pre_commit_config_runs_the_same_guard() -> None:
    text = (PROJECT_ROOT / ".pre-commit-config.yaml").read_text()
    assert "python -m aipx_runbook.notebook_guard" in text and "^notebooks/.*\\.ipynb$" in text
