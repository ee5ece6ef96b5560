"""Onboarding drills: real Phase 0 failures made on the emulator, fixed with the runbook, checked.

``aipx-runbook train`` lists them; each has a notebook under ``notebooks/training/``.
"""

from . import console
from .registry import DRILLS, find
from .session import CheckResult, check, open_drill, overview, set_up

__all__ = ["DRILLS", "CheckResult", "check", "console", "find", "open_drill", "overview", "set_up"]
