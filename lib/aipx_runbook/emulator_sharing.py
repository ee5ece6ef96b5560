"""One emulator, several runs: leases, and the instance a run directory's stages used.

- A headless run holds a lease (its pid, in ``.aipx/emulator-leases.json``, changed only under the emulator's
  file lock) while it works. When it ends it stops the emulator only if a run started it, the run was not asked
  to keep it, and no other live run holds a lease: two runs at once in one workspace never pull the emulator from
  under each other. A lease of a process that is gone (a killed run) does not count.
- Every emulator start has a new instance ID. A run directory records the instance its stages used
  (``.emulator.json``); a later stage that finds another instance names the cause: the emulator was restarted,
  its buckets and state are gone, rerun from stage 01.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

from . import config, emulator, processes
from .emulator import EmulatorStatus
from .errors import EmulatorError

RUN_RECORD = ".emulator.json"
# stages that (re)create what the emulator holds, or need nothing from it
FRESH_STAGES = ("prerequisites", "backend")


def _leases_file() -> Path:
    return config.state_dir() / "emulator-leases.json"


def _live_leases() -> set[int]:
    try:
        pids = set(json.loads(_leases_file().read_text()).get("pids", []))
    except (OSError, ValueError, AttributeError):
        pids = set()
    return {pid for pid in pids if isinstance(pid, int) and processes.alive(pid)}


def _write_leases(pids: set[int]) -> None:
    _leases_file().write_text(json.dumps({"pids": sorted(pids)}))


@contextlib.contextmanager
def lease(keep: bool = False) -> Iterator[EmulatorStatus]:
    """Hold the workspace's emulator for this process, starting it when none runs."""
    me = os.getpid()
    with emulator._exclusive():
        status = emulator._start("run")
        _write_leases(_live_leases() | {me})
    try:
        yield status
    finally:
        with emulator._exclusive():
            others = _live_leases() - {me}
            _write_leases(others)
            current = emulator.status()
            if current.running and current.started_by == "run":
                if keep:
                    _mark(started_by="user")  # kept on purpose: later runs leave it running too
                elif not others:
                    emulator._stop()


def _mark(**fields: str) -> None:
    path = config.state_dir() / "emulator.json"
    recorded = json.loads(path.read_text())
    recorded.update(fields)
    path.write_text(json.dumps(recorded))


def check_instance(run_dir: Path, stage: str, environment: str) -> None:
    """Refuse a stage whose run directory's earlier stages used an emulator that has since been replaced."""
    current = emulator.status()
    if not current.running or not current.instance:
        return
    record = run_dir / RUN_RECORD
    try:
        used = json.loads(record.read_text()) if record.exists() else {}
    except ValueError:
        used = {}
    if stage in FRESH_STAGES or not used or used.get("instance") == current.instance:
        record.write_text(json.dumps({"instance": current.instance, "endpoint": current.endpoint}))
        return
    raise EmulatorError(
        f"open stage {stage}",
        f"the emulator was restarted, its buckets and state are gone: the earlier stages of this run used the "
        f"emulator at {used.get('endpoint', '?')}, which no longer runs; the one at {current.endpoint} is new and "
        "empty",
        f"rerun from stage 01: aipx-runbook run --env {environment} (or notebooks 01, 02, 03, … in order); use "
        "`aipx-runbook run --keep-emulator` or `aipx-runbook emulator start` to keep one emulator across runs",
    )
