"""Helpers of the training drills' tests: papermill in a shell, and the text an executed notebook shows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat

from paths import PROJECT_ROOT

BIN = Path(sys.executable).parent


def papermill(notebook: str, output: Path, *parameters: str) -> nbformat.NotebookNode:
    """Plain papermill in a shell, as a trainee or CI runs it: `-p NAME VALUE` strings, papermill types them."""
    argv = [str(BIN / "papermill"), notebook, str(output), "--no-progress-bar", "--start-timeout", "300"]
    for pair in parameters:
        name, value = pair.split("=", 1)
        argv += ["-p", name, value]
    completed = subprocess.run(
        argv,
        cwd=PROJECT_ROOT,
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, f"{notebook} failed:\n{completed.stderr[-3000:]}"
    return nbformat.read(output, as_version=4)


def outputs_text(notebook: nbformat.NotebookNode) -> str:
    """Every text output of an executed notebook (plain-text renderings and streams)."""
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)
