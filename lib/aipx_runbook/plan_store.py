"""The private plan store (``<workspace>/.aipx/plans/``): one owner-only folder per run directory, holding the
saved plans, which hold secret values; the plans of runs that have ended are pruned.

Apart from plans.py (which saves, shows and reviews plans) so that the runner, which only prunes the store at the
end of a run, does not import the plan machinery (the record, the review, the cost model) as the CLI starts.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from . import config

PLAN_LIFETIME_HOURS = 24
OWNER = "run_dir"


def store_root() -> Path:
    path = config.state_dir() / "plans"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    return path


def prune(now: float | None = None) -> list[str]:
    """Delete the plans of runs that have ended (run directory gone, or plan older than PLAN_LIFETIME_HOURS);
    the run directories (or folder names) whose plans were deleted."""
    now = time.time() if now is None else now
    pruned = []
    for folder in sorted(store_root().iterdir()):
        if not folder.is_dir():
            continue
        owner = folder / OWNER
        run_dir = owner.read_text().strip() if owner.exists() else ""
        plans = [path for path in folder.iterdir() if path.name != OWNER]
        newest = max((path.stat().st_mtime for path in plans), default=folder.stat().st_mtime)
        # A folder without its owner yet is being made (store_dir writes the owner just after the folder): it goes
        # by age only, or a run pruning beside another would delete the other's folder under its first plan.
        ended = bool(run_dir) and not Path(run_dir).is_dir()
        if ended or now - newest > PLAN_LIFETIME_HOURS * 3600:
            shutil.rmtree(folder, ignore_errors=True)
            pruned.append(run_dir or folder.name)
    return pruned
