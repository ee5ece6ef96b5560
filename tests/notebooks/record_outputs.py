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

if str(Path(__file__).resolve().parents[1]) not in sys.path:  # run as a script: tests/ for `paths`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from paths import PROJECT_ROOT  # noqa: E402

BEFORE_DESTROY = ["prerequisites", "backend", "init", "plan", "apply", "verify", "state", "budget"]


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
        from aipx_runbook import emulator, runbook

        try:
            # 07 and 08 are recorded while the state still holds what 04 applied, then 06 destroys it,
            # in the order tests/notebooks/test_nbval.py replays them.
            for stages, approvals in ((BEFORE_DESTROY, {"auto_approve": True}), (["destroy"], {"confirm": "dev"})):
                result = runbook.run("dev", stage_names=stages, parameters=approvals, keep_emulator=True)
                if not result.ok:
                    failed = result.failed
                    print(f"the dev run failed at {failed.number} {failed.name}: {failed.error}", file=sys.stderr)
                    return 1
                for stage in result.stages:
                    record(stage.notebook, result.run_dir)
        finally:
            emulator.stop()
    return 0


def record(notebook: str, run_dir: Path) -> None:
    template_path = PROJECT_ROOT / "notebooks" / notebook
    template = nbformat.read(template_path, as_version=4)
    executed = nbformat.read(run_dir / notebook, as_version=4)
    nbformat.write(merge_outputs(template, executed), template_path)
    print(f"recorded {template_path.relative_to(PROJECT_ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
