"""The local AWS emulator (a moto server on 127.0.0.1), shared by every notebook of a run.

Its process id and endpoint are kept in ``<workspace>/.aipx/emulator.json`` so that a later
notebook, a later ``papermill`` call or the CLI finds the emulator a previous one started.

Runs share it: each run holds a lease (its pid) while it works, and a run stops only an emulator that a run
started and that no other live run holds (see emulator_leases.py). Each start gets a new instance ID; a run
directory remembers the instance its stages used, so that an emulator restarted between stages (its buckets and
state gone) is named as such instead of surfacing as "connection refused".
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from . import config, isolation
from .errors import EmulatorError
from .processes import alive, listening, wait_for_exit
from .results import Report, Table

START_TIMEOUT_SECONDS = 30.0
HEALTH_PATH = "/moto-api/"


@dataclass(frozen=True)
class EmulatorStatus:
    running: bool
    endpoint: str = ""
    pid: int = 0
    log_file: str = ""
    started_by_this_call: bool = False
    instance: str = ""
    started_by: str = "user"

    def report(self) -> Report:
        if not self.running:
            return Report("Local AWS emulator", "info", "not running")
        summary = "started" if self.started_by_this_call else "already running; reused"
        return Report(
            "Local AWS emulator",
            "ok",
            f"moto server {summary} at {self.endpoint}",
            tables=[Table(["endpoint", "pid", "log"], [[self.endpoint, self.pid, self.log_file]])],
        )

    def _repr_html_(self) -> str:
        return self.report()._repr_html_()

    def __str__(self) -> str:
        return str(self.report())


def _state_file() -> Path:
    return config.state_dir() / "emulator.json"


@contextlib.contextmanager
def _exclusive() -> Iterator[None]:
    """Serialise start/stop between notebooks and processes that race for the emulator."""
    with open(config.state_dir() / "emulator.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _answers(endpoint: str, timeout: float = 2.0) -> bool:
    """Whether a moto server answers HTTP there; any HTTP status counts as an answer."""
    try:
        with isolation.direct_urlopen(endpoint + HEALTH_PATH, timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _recorded() -> dict | None:
    path = _state_file()
    if not path.exists():
        return None
    try:
        recorded = json.loads(path.read_text())
        if not isinstance(recorded, dict) or not isinstance(recorded.get("pid"), int) or "endpoint" not in recorded:
            raise ValueError("it does not name the emulator's pid and endpoint")
    except ValueError as error:
        raise EmulatorError(
            "find the local AWS emulator",
            f"{path} is corrupt ({error}); it records which moto server this workspace uses",
            f"stop any moto server of this workspace (`ps -ef | grep emulator_server`, then kill its pid), delete "
            f"{path}, and rerun: the next stage starts a new emulator (rerun from stage 01, its state is new)",
        ) from None
    return recorded


def status() -> EmulatorStatus:
    recorded = _recorded()
    if recorded and _is_emulator(recorded["pid"]) and listening(recorded["endpoint"]):
        return EmulatorStatus(
            True,
            recorded["endpoint"],
            recorded["pid"],
            recorded.get("log_file", ""),
            instance=recorded.get("instance", ""),
            started_by=recorded.get("started_by", "user"),
        )
    return EmulatorStatus(False)


def _is_emulator(pid: int) -> bool:
    """The recorded pid still belongs to a moto server (not to a process that reused the number)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
        return b"aipx_runbook.emulator_server" in command or b"moto.server" in command
    except OSError:
        return alive(pid)


def _terminate(pid: int) -> None:
    if not _is_emulator(pid):
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        wait_for_exit(pid, 0.05)


def start(started_by: str = "user") -> EmulatorStatus:
    """Start the emulator unless one is running already; return its status.

    ``started_by`` is "run" when a headless run starts it (it stops it again when no other run holds it)."""
    with _exclusive():
        return _start(started_by)


def _start(started_by: str) -> EmulatorStatus:
    current = status()
    if current.running:
        return current
    try:
        stale = _recorded()
    except EmulatorError:
        stale = None
    if stale and alive(stale["pid"]):
        _terminate(stale["pid"])
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log_file = config.state_dir() / "emulator.log"
    with open(log_file, "ab") as log:
        process = subprocess.Popen(
            # moto's server, loading the services of the first stages while the runner goes on (emulator_server.py)
            [sys.executable, "-m", "aipx_runbook.emulator_server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            # no AWS_* of the shell, loopback bypasses proxies; like AWS, a bucket of another account is
            # refused (403), not silently shared; no stock AMIs (the stack reads none; loading them made each
            # region's first EC2 call, stage 00's region check, about a second slower)
            env={
                **isolation.local_env(os.environ),
                "MOTO_S3_ALLOW_CROSSACCOUNT_ACCESS": "false",
                "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
            },
        )
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not _answers(endpoint, timeout=1.0):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise EmulatorError(
                "start the local AWS emulator",
                f"moto server did not answer on {endpoint} within {START_TIMEOUT_SECONDS:.0f} s",
                f"read {log_file}; check that moto[server] is installed (pip install 'moto[server]')",
            )
        time.sleep(0.02)
    started = EmulatorStatus(
        True, endpoint, process.pid, str(log_file), True, instance=uuid.uuid4().hex, started_by=started_by
    )
    _state_file().write_text(json.dumps({k: v for k, v in asdict(started).items() if k != "running"}))
    return started


def stop() -> EmulatorStatus:
    """Stop the emulator if it runs; everything it held (buckets, tables, state) is discarded."""
    with _exclusive():
        return _stop()


def _stop() -> EmulatorStatus:
    try:
        recorded = _recorded()
    except EmulatorError:
        recorded = None
    if recorded and alive(recorded["pid"]):
        _terminate(recorded["pid"])
    _state_file().unlink(missing_ok=True)
    return EmulatorStatus(False)


def endpoint() -> str:
    """The running emulator's endpoint, starting it when none runs."""
    return start().endpoint
