"""The plan store's pruning spares a folder another run is making: the folder exists a moment before its owner
file, and two runs (two terminals, or stage 03 of dev and production side by side) prune as they save."""

from __future__ import annotations

import os
import time
from pathlib import Path

from aipx_runbook import plan_store


def test_a_folder_without_its_owner_yet_is_pruned_by_age_only(workspace: Path) -> None:
    being_made = plan_store.store_root() / "0123456789abcdef"
    being_made.mkdir()
    assert being_made.name not in plan_store.prune() and being_made.is_dir()
    long_ago = time.time() - (plan_store.PLAN_LIFETIME_HOURS + 1) * 3600
    os.utime(being_made, (long_ago, long_ago))
    assert being_made.name in plan_store.prune() and not being_made.exists()
