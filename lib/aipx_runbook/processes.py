"""Local processes the runbook starts and later finds again by pid (the emulator, Terraform)."""

from __future__ import annotations

import os


def alive(pid: int) -> bool:
    """Is a process with this pid running (one of another user counts: it exists)?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
