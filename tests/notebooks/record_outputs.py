"""Refresh the outputs stored in notebooks/ from a real dev run (target local, smoke stack).

`make notebooks` runs this. The committed notebooks are the templates with the outputs of that run
copied in cell by cell (matched by cell id); papermill's injected-parameters cell and run metadata are
left out, so each notebook still opens with its defaults. nbval then replays them (tests/notebooks/test_nbval.py).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import nbformat

PROJECT_ROOT = Path(__file__).resolve().parents[2]
APPROVALS = {"auto_approve": True, "confirm": "dev"}


def merge_outputs(template: nbformat.NotebookNode, executed: nbformat.NotebookNode) -> nbformat.NotebookNode:
    by_id = {cell.get("id"): cell for cell in executed.cells}
    for cell in template.cells:
        if cell.cell_type != "code":
            continue
        ran = by_id[cell.id]
        cell.outputs = ran.outputs
        cell.execution_count = ran.execution_count
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    return template


def main() -> int:
    os.environ["AIPX_PROJECT_ROOT"] = str(PROJECT_ROOT)
    with tempfile.TemporaryDirectory() as workspace:
        os.environ["AIPX_WORKSPACE"] = workspace
        from aipx_runbook import runbook

        result = runbook.run("dev", parameters=APPROVALS)
        if not result.ok:
            failed = result.failed
            print(f"the dev run failed at {failed.number} {failed.name}: {failed.error}", file=sys.stderr)
            return 1
        for stage in result.stages:
            template_path = PROJECT_ROOT / "notebooks" / stage.notebook
            template = nbformat.read(template_path, as_version=4)
            executed = nbformat.read(result.run_dir / stage.notebook, as_version=4)
            nbformat.write(merge_outputs(template, executed), template_path)
            print(f"recorded {template_path.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
