"""One Terraform process, run so that nothing leaks and nothing outside it can break it.

- Its variables go into an owner-only file in the private store (python-terraform would write them as
  ``tmp*.tfvars.json`` into the system temp directory and never delete them). Its output and, for a command that
  may take a state lock, its own log (``TF_LOG=info``, which names the ID of every lock it attempts: see locks.py)
  go to owner-only files there too. Everything is deleted once the process ended and its output was read.
- It runs in its own session and writes to files it owns, not to a pipe: a Ctrl-C in the terminal, a killed
  runner or a dead kernel never kills it mid-write (no SIGPIPE). An interrupt reaches it as one SIGINT, sent
  by its waiter, on which Terraform stops gracefully, saves the state and releases its lock.
- While it runs, ``process.json`` beside its output names it (pid, command, run directory, waiter): the runner
  forwards Ctrl-C by it, and a later run tells what became of a process whose waiter was killed (recovery.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from . import config, deprecations
from .processes import alive, wait_for_exit

FOLDER = "terraform-processes"
POLL_SECONDS = 0.1
# Terraform's logging settings: the runner sets its own (a user's TF_LOG_PATH would put a log outside the store).
LOG_VARIABLES = ("TF_LOG", "TF_LOG_PATH", "TF_LOG_CORE", "TF_LOG_PROVIDER")


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str
    log: str
    interrupted: bool
    seconds: float


@dataclass(frozen=True)
class Record:
    """What ``process.json`` says about a running Terraform process."""

    pid: int
    command: str
    run_dir: str
    cwd: str
    waiter_pid: int
    started: str
    folder: str

    @classmethod
    def read(cls, folder: Path) -> Record | None:
        try:
            return cls(**json.loads((folder / "process.json").read_text()))
        except (OSError, ValueError, TypeError):
            return None


def private_folder(*parts: str) -> Path:
    """An owner-only folder in the private store (``<workspace>/.aipx/``)."""
    path = config.state_dir().joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    return path


def write_private(path: Path, text: str) -> Path:
    """Write a file readable by its owner only, from its first byte on."""
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    return path


def _private_opener(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)


def is_terraform(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == "terraform"
    except OSError:
        return alive(pid)


class TerraformProcess:
    """The private folder of one Terraform call: its variable file, output, log and record."""

    def __init__(self, command: str, run_dir: Path | str = "") -> None:
        self.command = command
        self.run_dir = str(run_dir)
        self.folder = private_folder(FOLDER, f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{uuid.uuid4().hex}")

    def var_file(self, values: dict[str, Any]) -> Path:
        """The values as an owner-only ``.tfvars.json`` that lives as long as this call."""
        return write_private(self.folder / "variables.tfvars.json", json.dumps(values))

    def run(self, argv: list[str], cwd: Path, env: dict[str, str], stream: bool = False, log: bool = True) -> Finished:
        """Run Terraform to its end; an interrupt is forwarded to it and waited out. The folder is removed.
        ``log``: keep Terraform's own log (``TF_LOG=info``), for a command that may take a state lock (locks.py);
        without it, Terraform logs nothing (it would format every debug and trace message of its core)."""
        try:
            return self._run(argv, cwd, env, stream, log)
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def _run(self, argv: list[str], cwd: Path, env: dict[str, str], stream: bool, log: bool) -> Finished:
        stdout_path, stderr_path, log_path = (self.folder / name for name in ("stdout", "stderr", "terraform.log"))
        env = {name: value for name, value in env.items() if name not in LOG_VARIABLES}
        if log:
            env.update(TF_LOG="info", TF_LOG_PATH=str(log_path))
        started = time.monotonic()
        with (
            open(stdout_path, "wb", opener=_private_opener) as out,
            open(stderr_path, "wb", opener=_private_opener) as err,
        ):
            process = subprocess.Popen(
                argv, cwd=cwd, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True
            )
        record = Record(
            process.pid,
            self.command,
            self.run_dir,
            str(cwd),
            os.getpid(),
            time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            str(self.folder),
        )
        write_private(self.folder / "process.json", json.dumps(asdict(record)))
        interrupted = False
        lines: list[str] = []
        pending = ""
        shown = deprecations.StreamFilter()  # stage 02 explains the dynamodb_table warning once
        with open(stdout_path, encoding="utf-8", errors="replace") as reader:
            while True:
                try:
                    ended = process.poll() is not None
                    pending += reader.read()
                    *complete, pending = pending.split("\n")
                    batch = [line + "\n" for line in complete]
                    lines += batch
                    if stream and batch:
                        _show(started, [kept for line in batch for kept in shown.feed(line)])
                    if ended:
                        break
                    wait_for_exit(process.pid, POLL_SECONDS)
                except KeyboardInterrupt:
                    interrupted = True
                    interrupt(process.pid)
                    print(
                        f"\nInterrupted: Terraform {self.command} (pid {process.pid}) was asked to stop gracefully; "
                        "it finishes its current step, saves the state and releases the lock. Waiting for it…",
                        flush=True,
                    )
        if pending:
            lines.append(pending)
        if stream:
            _show(started, [*(shown.feed(pending + "\n") if pending else []), *shown.flush()])
        returncode = process.wait()
        return Finished(
            returncode,
            "".join(lines),
            stderr_path.read_text(errors="replace"),
            log_path.read_text(errors="replace") if log_path.exists() else "",
            interrupted,
            time.monotonic() - started,
        )


def _show(started: float, lines: list[str]) -> None:
    """The lines read in one poll, stamped with the seconds since the start, as one write and one flush: a
    kernel's flush waits for its I/O thread and sends a message, which the notebook keeps as one output."""
    if lines:
        stamp = f"[{time.monotonic() - started:6.1f}s] "
        sys.stdout.write("".join(stamp + line for line in lines))
        sys.stdout.flush()


def interrupt(pid: int) -> None:
    """One SIGINT, as a Ctrl-C would send it: Terraform then stops gracefully."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGINT)


def records() -> list[Record]:
    root = config.state_dir() / FOLDER
    if not root.is_dir():
        return []
    found = (Record.read(folder) for folder in sorted(root.iterdir()) if folder.is_dir())
    return [record for record in found if record is not None]


def interrupt_run(run_dir: Path | str) -> list[int]:
    """Forward an interrupt to every Terraform process working for this run directory; their pids."""
    pids = [
        record.pid
        for record in records()
        if record.run_dir == str(run_dir) and alive(record.pid) and is_terraform(record.pid)
    ]
    for pid in pids:
        interrupt(pid)
    return pids
