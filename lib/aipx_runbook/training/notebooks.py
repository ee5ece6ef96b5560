"""The drill notebooks, built from the registry so the story, the task and the hints have one home.

`python -m aipx_runbook.training.notebooks` writes notebooks/training/; a test checks the committed ones match.
"""

from __future__ import annotations

import html
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from .. import config
from .drill import Drill
from .registry import DRILLS

PARAMETERS = """environment = "dev"  # type: str Environment the drill runs in: dev, staging or production
set_up = True  # type: bool True: set the scene (resets the emulator); False: keep it and only run the check"""


def _hints(drill: Drill) -> str:
    blocks = [
        f"<details><summary>Hint {index}</summary>\n\n{hint}\n\n</details>"
        for index, hint in enumerate(drill.hints, start=1)
    ]
    return "### Hints\nOpen one at a time, only when you are stuck.\n\n" + "\n\n".join(blocks)


def build(drill: Drill) -> nbformat.NotebookNode:
    row = f"\n\n*Troubleshooting table of the stack's README:* {html.escape(drill.row)}" if drill.row else ""
    cells = [
        new_markdown_cell(
            f"# Training drill {drill.number} · {drill.title}\n\n"
            f"**Goal:** {drill.goal}.  \n**You learn:** {drill.teaches}.  \n**Time:** about {drill.minutes} "
            f"minutes.{row}\n\n"
            "Everything happens on the local AWS emulator with the real Terraform: no AWS account is touched. "
            "Setting the scene **empties the emulator** and makes the fault real; you then fix it with the "
            "runbook's own notebooks (`notebooks/00_…` to `08_…`), and the last cell checks your fix."
        ),
        new_markdown_cell(
            "### Parameters\n`set_up = False` keeps the scene you are working on (run the notebook again after "
            "your fix to check it). Headless: `papermill notebooks/training/"
            f"{Path(drill.notebook).name} out.ipynb -p set_up False`, or `aipx-runbook train {drill.name} --check`."
        ),
        new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}),
        new_code_cell("from aipx_runbook import training"),
        new_code_cell(f'drill = training.open_drill("{drill.name}", environment=environment)\ndrill'),
        new_markdown_cell("### The scene\n" + drill.story),
        new_code_cell("drill.set_scene(set_up)"),
        new_markdown_cell(
            f"### What an operator sees\n{drill.sees}\n\n### Your task\n{drill.task}\n\n"
            "The scene above lists the parameters to give the runbook's notebooks. Open them from JupyterLab's "
            "file browser, set the parameters in their parameters cell and run them; or run them headlessly, e.g. "
            "`papermill notebooks/07_state_and_locks.ipynb out.ipynb -p stack PATH`. Where a hint names "
            "`training.console` (the AWS console of the emulated account), add a code cell below and call it there."
        ),
        new_markdown_cell(_hints(drill)),
        new_markdown_cell(
            "### Check\nInspects the emulator and the state: **PASS**, or what is still wrong. Progress is kept in "
            "`.aipx/training.json` (`aipx-runbook train` shows it)."
        ),
        new_code_cell("drill.check()"),
    ]
    for index, cell in enumerate(cells):
        cell["id"] = f"{drill.name}-{index}"
    notebook = new_notebook(cells=cells)
    notebook.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    return notebook


def text(drill: Drill) -> str:
    return nbformat.writes(build(drill)) + "\n"


def write_all(folder: Path | None = None) -> list[Path]:
    folder = folder or config.project_root() / "notebooks" / "training"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for drill in DRILLS:
        path = folder / Path(drill.notebook).name
        path.write_text(text(drill))
        written.append(path)
    return written


if __name__ == "__main__":
    for written in write_all(Path(sys.argv[1]) if len(sys.argv) > 1 else None):
        print(written)
