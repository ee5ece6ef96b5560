"""Refuse notebooks whose saved outputs hold a value a sensitive Terraform output produced.

`reveal_sensitive=True` in JupyterLab renders sensitive outputs in clear into the notebook file, and the
notebooks under notebooks/ are committed with their outputs (nbval replays them), so stripping every output
(nbstripout) would not do. This guard reads each code cell's outputs and finds:

- the marker stage 05 adds whenever it reveals values (``REVEALED_MARKER``);
- a table row, HTML or text, that names a sensitive output of a stack and does not show the mask;
- any of the given secret values (for example the sensitive values of a real run), anywhere.

`python -m aipx_runbook.notebook_guard NOTEBOOK...` exits 1 naming each finding (the pre-commit hook runs it).
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from . import config
from .contract import MASK

REVEALED_MARKER = "sensitive values revealed (reveal_sensitive=True)"
ROW = re.compile(r"<tr>(.*?)</tr>", re.DOTALL)
# Cells of a row naming a sensitive output that hold no value: plan actions, the sensitive flag, nothing.
NOT_VALUES = {"", "create", "update", "delete", "replace", "no-op", "read", "yes", "no", "True", "False"}
CELL = re.compile(r"<t[dh][^>]*>(.*?)</t[dh]>", re.DOTALL)


def sensitive_output_names(stacks: Iterable[Path] | None = None) -> set[str]:
    """The outputs the stacks mark ``sensitive = true`` (terraform/aws and terraform/smoke by default)."""
    import hcl2  # here: stage 05 imports this module for its marker only, and every kernel imports the stages

    root = config.project_root()
    folders = stacks if stacks is not None else [root / path for path in config.STACKS.values()]
    names: set[str] = set()
    for folder in folders:
        for path in sorted(Path(folder).glob("*.tf")):
            with path.open() as handle:
                for block in hcl2.load(handle).get("output", []):
                    for name, body in block.items():
                        if body.get("sensitive") in (True, "true"):
                            names.add(name.strip('"'))
    return names


def _texts(output: dict[str, Any]) -> list[str]:
    texts = []
    if "text" in output:
        texts.append(_join(output["text"]))
    for kind, value in (output.get("data") or {}).items():
        texts.append(_join(value) if kind.startswith("text/") else json.dumps(value))
    return texts


def _join(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _rows(text: str) -> list[list[str]]:
    """Table rows of an output: HTML rows as cells, and text lines split on runs of two or more spaces."""
    rows = [[html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in CELL.findall(row)] for row in ROW.findall(text)]
    if "<tr>" not in text:
        rows += [re.split(r"\s{2,}", line.strip()) for line in text.splitlines()]
    return rows


def findings(path: Path, secrets: Iterable[str] = (), names: set[str] | None = None) -> list[str]:
    """What in a notebook's saved outputs a sensitive output produced, one line per finding; empty when clean."""
    return findings_in(path.read_text(), path.name, secrets, names)


def findings_in(text: str, label: str, secrets: Iterable[str] = (), names: set[str] | None = None) -> list[str]:
    names = sensitive_output_names() if names is None else names
    secrets = [s for s in secrets if s]
    notebook = json.loads(text)
    found = []
    for index, cell in enumerate(notebook.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        for output in cell.get("outputs", []):
            for shown in _texts(output):
                where = f"{label} cell {index}"
                if REVEALED_MARKER in shown:
                    found.append(f"{where}: stage 05 revealed sensitive values here (reveal_sensitive=True)")
                for row in _rows(shown):
                    if row and row[0] in names and not any(MASK in c for c in row) and set(row[1:]) - NOT_VALUES:
                        found.append(f"{where}: sensitive output {row[0]} is shown unmasked")
                found += [f"{where}: holds the value of a sensitive output" for s in secrets if s in shown]
    return sorted(set(found))


def staged_notebooks() -> list[tuple[str, str]]:
    """(path, staged content) of every notebook under notebooks/ the next commit would hold, read from git's index."""
    listed = subprocess.run(
        ["git", "diff", "--cached", "--name-only", "--diff-filter=ACMR", "--", "notebooks/*.ipynb"],
        capture_output=True,
        text=True,
        check=True,
    )
    return [
        (name, subprocess.run(["git", "show", f":{name}"], capture_output=True, text=True, check=True).stdout)
        for name in listed.stdout.split("\n")
        if name
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Check the notebooks named (pre-commit passes them), or with --staged those in git's index (.githooks)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--staged"]:
        notebooks = staged_notebooks()
    else:
        notebooks = [(name, Path(name).read_text()) for name in args if name.endswith(".ipynb")]
    problems = [line for name, text in notebooks for line in findings_in(text, name)]
    for line in problems:
        print(line, file=sys.stderr)
    if problems:
        print(
            "refused: clear these outputs (JupyterLab: Edit > Clear Outputs of All Cells, or rerun the notebook with "
            "reveal_sensitive = False; `make notebooks` re-records the committed outputs), then commit again",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
