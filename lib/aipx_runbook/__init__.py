"""AIPX Phase 0 runbook library."""

import sys as _sys
import time as _time

# jsonschema (imported by nbformat, so by papermill) loads rfc3987-syntax when installed (JupyterLab brings it
# in), which compiles a Lark grammar for one to four seconds at every start of the runner; nbformat's
# validation never checks the IRI formats it adds. Without it, jsonschema leaves those formats unchecked.
_sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

# When the package began importing: stages/__init__.py records the import time of what a notebook's first cell loads.
IMPORT_STARTED = _time.perf_counter()
