"""Stage kernels forked from one pre-imported process (kernel_zygote.py) instead of started as fresh interpreters.

``Zygote`` starts that process for a run and asks it for kernels; ``ForkedProvisioner`` is jupyter_client's
local provisioner with one change, where the kernel process comes from: everything else (connection file,
ports, interrupts and kills sent to the kernel's process group, shutdown) stays jupyter_client's. A forked
kernel is not the runner's child but its grandchild, so ``ForkedProcess`` stands in for ``subprocess.Popen``:
it watches the kernel through a pidfd and takes its exit code from the zygote, which reaps it.

Any command line that is not this interpreter's ``-m ipykernel_launcher`` (another kernel spec), a zygote that
refused or died, start as jupyter_client would: a fresh process. ``AIPX_FORK_KERNELS=0`` turns forking off.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

from jupyter_client.launcher import launch_kernel
from jupyter_client.provisioning import LocalProvisioner

ENDED = "the process kernels are forked from has ended"
UNKNOWN_EXIT = 255  # the exit code of a kernel whose zygote died before it could report it
REPLY_TIMEOUT = 60


def enabled() -> bool:
    return os.environ.get("AIPX_FORK_KERNELS", "").strip().lower() not in ("0", "false", "no", "off")


class ForkRefused(RuntimeError):
    """The zygote could not fork a kernel (``reason``); the caller starts a fresh process instead."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Zygote:
    """The run's pre-imported process: ``ask`` for a kernel (answered in order, by ``Request.pid``),
    ``exit_code`` of a forked kernel once it is reaped."""

    def __init__(self, cwd: str, first: list[str], later: list[str]) -> None:
        """``first``: imported before the first kernel is forked; ``later``: one at a time between requests."""
        ours, theirs = socket.socketpair()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "aipx_runbook.kernel_zygote", str(theirs.fileno()), *first, "--", *later],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            start_new_session=True,  # a terminal's Ctrl-C goes to the runner, which interrupts the stage's kernel
        )
        theirs.close()
        self._channel = ours
        self._pending: collections.deque[Request] = collections.deque()  # asked, not yet answered, in order
        self._exits: dict[int, int] = {}
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, name="aipx-kernel-fork", daemon=True)
        self._reader.start()

    def ask(self, argv: list[str], cwd: str, env: dict[str, str]) -> Request:
        """Ask for a kernel without waiting: the process may still be importing (the run goes on meanwhile)."""
        request = Request(self)
        with self._changed:
            if not self._reader.is_alive():
                refused = ENDED
            else:
                self._pending.append(request)
                try:
                    self._channel.sendall(json.dumps({"argv": argv, "cwd": cwd, "env": env}).encode() + b"\n")
                    return request
                except OSError as error:
                    self._pending.remove(request)
                    refused = f"the process kernels are forked from did not listen: {error}"
        request.answer(None, refused)
        return request

    def exit_code(self, pid: int, timeout: float) -> int:
        """The exit code of a forked kernel that has ended, as its zygote reported it."""
        with self._changed:
            self._changed.wait_for(lambda: pid in self._exits or not self._reader.is_alive(), timeout)
            return self._exits.pop(pid, UNKNOWN_EXIT)

    def _read(self) -> None:
        with contextlib.suppress(OSError, ValueError), self._channel.makefile("rb") as lines:
            for line in lines:
                message = json.loads(line)
                if "exited" in message:
                    with self._changed:
                        self._exits[int(message["exited"])] = int(message["code"])
                        self._changed.notify_all()
                    continue
                with self._changed:
                    request = self._pending.popleft() if self._pending else None
                if request is not None:
                    request.answer(message.get("forked"), message.get("refused", "no reason given"))
        with self._changed:
            unanswered = list(self._pending)
            self._pending.clear()
            self._changed.notify_all()
        for request in unanswered:
            request.answer(None, ENDED)

    def close(self) -> None:
        """End the zygote (its kernels were shut down first; any still running leave when they see it gone)."""
        with contextlib.suppress(OSError):
            self._channel.shutdown(socket.SHUT_RDWR)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._reader.join(timeout=5)
        self._channel.close()


class Request:
    """One kernel asked of a zygote: its pid once forked, or why not; ``then`` runs once it is answered."""

    def __init__(self, zygote: Zygote) -> None:
        self._zygote = zygote
        self.forked: int | None = None
        self.pidfd = -1  # opened as the answer comes: from then on the pid cannot name another process
        self.refused = ""
        self._answered = threading.Event()
        self._then: Callable[[Request], None] | None = None

    def answer(self, pid: int | None, refused: str) -> None:
        if pid:
            with contextlib.suppress(ProcessLookupError):  # ended already: its exit code is on its way
                self.pidfd = os.pidfd_open(pid)
            self.forked = pid
        else:
            self.refused = refused
        with self._zygote._changed:
            self._answered.set()
            then = self._then
        if then is not None:
            then(self)

    def then(self, callback: Callable[[Request], None]) -> None:
        with self._zygote._changed:
            self._then = callback
            answered = self._answered.is_set()
        if answered:
            callback(self)

    def wait(self, timeout: float = REPLY_TIMEOUT) -> None:
        if not self._answered.wait(timeout):
            raise ForkRefused(f"the process kernels are forked from did not answer within {timeout:.0f} s")

    def pid(self) -> int:
        self.wait()
        if not self.forked:
            raise ForkRefused(self.refused)
        return self.forked


class ForkedProcess:
    """What jupyter_client's local provisioner uses of ``subprocess.Popen``, for a kernel asked of the zygote.

    Its pid is known once the zygote answers (the runner goes on meanwhile); if the zygote refuses, the kernel
    is started fresh at that moment, as jupyter_client starts it (``fresh``), and this stands for that process.
    A forked kernel is waited for through a pidfd, readable once it ended though it is not this process's
    child. Signals go to the kernel's process group, as jupyter_client sends them (both kinds of kernel lead a
    session of their own)."""

    stdin = stdout = stderr = None

    def __init__(self, request: Request, fresh: Callable[[], subprocess.Popen[bytes]]) -> None:
        self.returncode: int | None = None
        self._request = request
        self._fresh = fresh
        self._popen: subprocess.Popen[bytes] | None = None
        self._started = threading.Event()
        self._failed: BaseException | None = None
        request.then(self._answered)

    def _answered(self, request: Request) -> None:
        if not request.forked:
            try:
                self._popen = self._fresh()
            except BaseException as error:  # raised again where the pid is asked for
                self._failed = error
        self._started.set()

    @property
    def pid(self) -> int:
        self._request.wait()
        self._started.wait()
        if self._failed is not None:
            raise self._failed
        return self._popen.pid if self._popen is not None else self._request.forked  # type: ignore[return-value]

    def poll(self) -> int | None:
        if not self._started.is_set():
            return None  # not forked yet: as alive as a process that is starting
        return self.wait(timeout=0) if self.returncode is None else self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        if self.returncode is not None:
            return self.returncode
        pid = self.pid
        if self._popen is not None:
            self.returncode = self._popen.poll() if timeout == 0 else self._popen.wait(timeout)
            return self.returncode
        pidfd = self._request.pidfd
        if pidfd >= 0 and not select.select([pidfd], [], [], timeout)[0]:
            if timeout == 0:
                return None
            raise subprocess.TimeoutExpired(f"kernel {pid}", timeout or 0)
        self.returncode = self._request._zygote.exit_code(pid, timeout=1.0)
        if pidfd >= 0:
            os.close(pidfd)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        pid = self.pid
        if self.returncode is None:
            os.killpg(pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class ForkedProvisioner(LocalProvisioner):  # type: ignore[misc]
    """jupyter_client's local provisioner whose kernel process is forked by ``zygote`` when it can be."""

    zygote: Zygote | None = None

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
        if self.zygote is None or cmd[0] != sys.executable:
            return await super().launch_kernel(cmd, **kwargs)
        cwd = str(kwargs.get("cwd") or os.getcwd())
        request = self.zygote.ask(cmd, cwd, dict(kwargs.get("env") or os.environ))
        self.process = ForkedProcess(request, lambda: launch_kernel(cmd, **self._scrub_kwargs(kwargs)))
        self.cwd = cwd
        # pid and pgid stay None: the process signals its own group (LocalProvisioner falls back to it)
        return self.connection_info
