"""The drills, in the order a trainer runs them."""

from __future__ import annotations

from ..errors import UsageError
from .drill import Drill
from .drills_apply import HALF_APPLIED, RESOURCE_CONFLICT, STALE_PLAN
from .drills_backend import BACKEND_DRIFT, BACKEND_MISSING, PERMISSION_DENIED, WRONG_REGION_DRILL
from .drills_state import STALE_LOCK, STATE_RESTORE

DRILLS: tuple[Drill, ...] = (
    BACKEND_MISSING,
    PERMISSION_DENIED,
    RESOURCE_CONFLICT,
    WRONG_REGION_DRILL,
    STALE_LOCK,
    BACKEND_DRIFT,
    STATE_RESTORE,
    HALF_APPLIED,
    STALE_PLAN,
)


def find(name: str) -> Drill:
    """A drill by name (stale-lock), number (05) or notebook stem (05_stale_lock)."""
    for drill in DRILLS:
        if name in (drill.name, drill.number, drill.notebook.rsplit("/", 1)[-1].removesuffix(".ipynb")):
            return drill
    known = ", ".join(drill.name for drill in DRILLS)
    raise UsageError(f"unknown drill '{name}'; known: {known}", "run `aipx-runbook train` to list them")
