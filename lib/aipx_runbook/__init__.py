"""AIPX Phase 0 runbook library.

The public surface, what notebooks, scripts and users may import (everything else is internal and may change):

- ``stages``: one function per runbook stage, what each notebook cell calls (``stages.start(...)`` opens a stage
  and, on target local, starts the emulator; ``stages.plan(ctx)``, ...), each returning a ``Report``.
- ``training``: the troubleshooting drills of notebooks/training/.
- ``open_stage`` and ``StageContext``: a stage's validated context, built without side effects.
- ``Report`` and ``Table``: what a stage returns; it renders itself in a notebook and as text.
- ``RunbookError`` and its kinds (``UsageError``, ``ApprovalRequired``, ...): what failed, why, and what to do.
- ``emulator``: start, stop and status of the local AWS emulator (moto).
- the console script ``aipx-runbook`` (``aipx_runbook.cli:main``).

Every name is imported on first use (PEP 562), as before: ``import aipx_runbook`` loads no submodule.
"""

from __future__ import annotations

import importlib as _importlib
import sys as _sys
import time as _time
from typing import Any as _Any

# jsonschema (imported by nbformat, so by papermill) loads rfc3987-syntax when installed (JupyterLab brings it
# in), which compiles a Lark grammar for one to four seconds at every start of the runner; nbformat's
# validation never checks the IRI formats it adds. Without it, jsonschema leaves those formats unchecked.
_sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

# When the package began importing: stages/__init__.py records the import time of what a notebook's first cell loads.
IMPORT_STARTED = _time.perf_counter()

_SUBMODULES = ("stages", "training", "emulator", "errors", "results", "context")
_NAMES = {
    "open_stage": "context",
    "StageContext": "context",
    "Report": "results",
    "Table": "results",
    "RunbookError": "errors",
    "UsageError": "errors",
    "ApprovalRequired": "errors",
    "PrerequisiteError": "errors",
    "BackendError": "errors",
    "TerraformError": "errors",
    "EmulatorError": "errors",
}
__all__ = ["__version__", *_SUBMODULES, *_NAMES]


def __getattr__(name: str) -> _Any:
    if name in _SUBMODULES:
        return _importlib.import_module(f".{name}", __name__)
    if name in _NAMES:
        return getattr(_importlib.import_module(f".{_NAMES[name]}", __name__), name)
    if name == "__version__":
        from importlib.metadata import version

        return version("aipx-runbook")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
