"""A run's directory: a new ``runs/<env>/<UTC stamp>`` for each run, or an earlier run's given with --run-dir."""

from __future__ import annotations

import time
from pathlib import Path

from . import config
from .errors import UsageError


def new_run_dir(environment: str) -> Path:
    base = config.workspace_root() / "runs" / environment
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = base / stamp
    suffix = 1
    while path.exists():
        suffix += 1
        path = base / f"{stamp}-{suffix}"
    path.mkdir(parents=True)
    return path


def existing_run_dir(path: str | Path, environment: str) -> Path:
    """An earlier run's directory, given with --run-dir: it must exist (a typo must not start a new run)."""
    directory = Path(path).expanduser().resolve()
    if not directory.is_dir():
        raise UsageError(
            f"run directory {path} does not exist",
            f"pass a directory of an earlier run, e.g. runs/{environment}/<UTC stamp>, or leave --run-dir out",
        )
    return directory
