"""AIPX Phase 0 runbook library."""

import time as _time

# When the package began importing: stages.py records the import time of what a notebook's first cell loads.
IMPORT_STARTED = _time.perf_counter()
