"""The library's stated public surface (aipx_runbook.__all__): every name resolves, importing the package loads
nothing else, and the notebooks import only from it."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import aipx_runbook
from paths import PROJECT_ROOT


def test_every_public_name_resolves() -> None:
    for name in aipx_runbook.__all__:
        assert getattr(aipx_runbook, name) is not None, name
    assert aipx_runbook.open_stage is aipx_runbook.context.open_stage
    assert issubclass(aipx_runbook.UsageError, aipx_runbook.RunbookError)
    assert set(aipx_runbook.__all__) <= set(dir(aipx_runbook))


def test_importing_the_package_loads_no_submodule() -> None:
    code = "import sys, aipx_runbook; print([m for m in sys.modules if m.startswith('aipx_runbook.')])"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def test_the_notebooks_import_only_the_public_surface() -> None:
    imported: dict[str, set[str]] = {}
    for path in sorted((PROJECT_ROOT / "notebooks").rglob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            for names in re.findall(r"^from aipx_runbook import (.+)$", "".join(cell["source"]), re.M):
                imported.setdefault(path.name, set()).update(n.strip() for n in names.split(","))
    assert imported, "no notebook imports the library"
    for notebook, names in imported.items():
        assert names <= set(aipx_runbook.__all__), notebook
