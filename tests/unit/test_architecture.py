"""The library's shape, checked: module size, an import graph without circles, and layers that only point down
(notebooks -> stages -> domain modules -> Terraform/AWS adapters; docs/architecture.md)."""

from __future__ import annotations

import ast
import graphlib
import re
from pathlib import Path

import pytest

from paths import PROJECT_ROOT

PACKAGE = "aipx_runbook"
LIBRARY = PROJECT_ROOT / "lib" / PACKAGE
MAX_LINES = 320  # "about 300": a module past this has taken a second concern
# The layers above the domain modules: the runner and the CLI, the stages, the training drills. They may import
# everything below them; nothing below imports them.
RUNNER = (
    "cli",
    "cli_account",
    "cli_errors",
    "runbook",
    "drift",
    "kernels",
    "kernel_zygote",
    "forked_kernels",
    "kernel_preload",
)
TOP_PACKAGES = ("stages", "training")
TOP = tuple(f"{PACKAGE}.{name}" for name in RUNNER + TOP_PACKAGES)
# Rendering: a module that builds Reports. AWS: a module that makes AWS clients or sessions. No module below the
# stages does both (a stage module may: it calls the domain and builds the Report).
RENDERS = re.compile(r"\bReport\(|\bTable\(")
CALLS_AWS = re.compile(r"\.client\(|boto3\.|\.session\(|get_paginator\(")


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(LIBRARY.rglob("*.py")):
        parts = list(path.relative_to(LIBRARY.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package modules that `name` imports at run time (imports under TYPE_CHECKING excluded)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    guarded = [node for node in ast.walk(tree) if isinstance(node, ast.If) and _type_checking(node)]
    skipped = {id(n) for node in guarded for n in ast.walk(node)}
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in modules else base)
    return {module for module in found if module in modules and module != name}


GRAPH = {name: _imports(name, path, _modules()) for name, path in _modules().items()}


def _is_top(name: str) -> bool:
    return any(name == top or name.startswith(top + ".") for top in TOP)


def test_the_layers_are_where_this_test_looks_for_them() -> None:
    # Guards the two tests below against passing on a renamed module they no longer see.
    assert {f"{PACKAGE}.{name}" for name in RUNNER + TOP_PACKAGES} <= set(GRAPH)
    assert [name for name in GRAPH if name.startswith(f"{PACKAGE}.stages.")] != []


@pytest.mark.parametrize("name", sorted(_modules()))
def test_every_module_is_about_300_lines_or_fewer(name: str) -> None:
    lines = len(_modules()[name].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines: move a concern into a module named for it"


def test_the_import_graph_has_no_circles() -> None:
    # A package's __init__ re-exporting its submodules is not a circle: the submodule's import of its
    # parent package is left out.
    graph = {name: {m for m in deps if not name.startswith(m + ".")} for name, deps in GRAPH.items()}
    graphlib.TopologicalSorter(graph).static_order()  # raises CycleError naming the circle


def test_nothing_below_the_stages_imports_upward() -> None:
    upward = sorted(
        f"{name} imports {dep}"
        for name, deps in GRAPH.items()
        if not _is_top(name) and name != PACKAGE
        for dep in deps
        if _is_top(dep)
    )
    assert upward == []


def test_no_module_below_the_stages_both_renders_and_calls_aws() -> None:
    mixed = []
    for name, path in _modules().items():
        if _is_top(name):
            continue
        text = path.read_text(encoding="utf-8")
        if RENDERS.search(text) and CALLS_AWS.search(text):
            mixed.append(name)
    assert mixed == [], "split the AWS calls (typed records) from the Report that shows them"
