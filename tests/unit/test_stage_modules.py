"""Each Terraform-side stage's logic lives in the module named after it (stages/init.py, plan.py, apply.py,
destroy.py), while the notebooks keep calling ``stages.<function>(ctx)``."""

from __future__ import annotations

import importlib
import json
import re

from aipx_runbook import stages
from paths import PROJECT_ROOT

HOMES = {
    "init": "init",
    "plan": "plan",
    "cost_of_plan": "plan",
    "apply": "apply",
    "destroy_plan": "destroy",
    "destroy": "destroy",
    "deletion_protection_note": "destroy",
}


def test_each_terraform_stage_is_defined_in_its_own_module() -> None:
    for name, module in HOMES.items():
        assert getattr(stages, name).__module__ == f"aipx_runbook.stages.{module}", name


def test_apply_decides_in_one_module_whether_a_saved_plan_may_be_applied() -> None:
    # The package attribute `stages.apply` is the stage function; its module is reached by its full name.
    module = importlib.import_module("aipx_runbook.stages.apply")
    for check in ("check_saved_plan", "refuse_backend_changes", "apply_saved_plan", "explain_failure"):
        assert getattr(module, check).__module__ == module.__name__, check


def test_every_stage_a_notebook_calls_is_exported_by_stages() -> None:
    for notebook in sorted((PROJECT_ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(notebook.read_text())["cells"]
        source = "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "code")
        for called in re.findall(r"\bstages\.(\w+)\(", source):
            assert callable(getattr(stages, called, None)), f"{notebook.name} calls stages.{called}"
