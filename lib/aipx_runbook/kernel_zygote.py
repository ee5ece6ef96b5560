"""The process the runner's stage kernels are forked from: it imports once what every kernel imports, then forks.

A stage kernel started as a fresh interpreter spends about half a CPU-second importing ipykernel, IPython and
the library before it answers, and more for the AWS SDK, every stage (seven per full run). This
process pays that once per run. Asked for a kernel (``forked_kernels.py`` writes the kernel's command line,
working directory and environment as one JSON line on the channel), it forks; the child takes that environment,
directory and command line, starts a session of its own (as jupyter_client starts every kernel) and runs
ipykernel exactly as ``python -m ipykernel_launcher`` does. Each stage still gets a process of its own in which
no cell ever ran: what the child inherits is imported modules, the state of a process that ran nothing else.

It stays single-threaded (forking a process with threads would copy locks held by threads that do not exist in
the child), reaps its children and reports their exit, and leaves when the runner closes the channel or dies
(its kernels then see their parent gone and leave, as jupyter_client's kernels do when the runner dies).

Run by forked_kernels.py as ``python -m aipx_runbook.kernel_zygote <channel fd> [name ...] -- [name ...]``: what
to load ahead besides ipykernel and the library (``kernel_preload.load``'s names): those before ``--``
(the first stage's) before anything else, the others one at a time between requests, so a request never waits
for more than one of them.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import json
import os
import select
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator

# The run's kernels are headless: nothing attaches a debugger to them, and importing debugpy (which ipykernel
# imports when it can) costs 70 ms of the first kernel's start; ipykernel then reports its debugger as unavailable.
sys.modules["debugpy"] = None  # type: ignore[assignment]
LAUNCHER = ("-m", "ipykernel_launcher")
_LAUNCHER_FILE = importlib.util.find_spec("ipykernel_launcher").origin or "ipykernel_launcher"  # type: ignore[union-attr]
STARTED_IN = os.getcwd()  # `python -m` put it first on sys.path; ipykernel_launcher takes it off again
KERNEL_NAME = b"aipx-kernel"  # what ps and /proc/<pid>/comm show for a forked kernel


def main(argv: list[str]) -> None:
    channel = socket.socket(fileno=int(argv[0]))
    _name_process(b"aipx-kernel-fork")
    wakeup_read, wakeup_write = os.pipe()
    os.set_blocking(wakeup_write, False)
    signal.set_wakeup_fd(wakeup_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # only wakes the loop (set_wakeup_fd); the loop reaps
    # Read by ipykernel as it is imported, here: the kernels' parent is this process (a kernel leaves when its
    # parent does), where jupyter_client would have named the runner.
    os.environ["JPY_PARENT_PID"] = str(os.getpid())
    started = time.perf_counter()
    import ipykernel.ipkernel  # noqa: F401
    import ipykernel.kernelapp  # noqa: F401

    import aipx_runbook.stages  # noqa: F401
    from aipx_runbook import kernel_preload

    separator = argv.index("--")
    for name in argv[1:separator]:  # what the first kernel's stage needs: it is asked for at once
        kernel_preload.load(name)
    kernel_preload.forked_after = time.perf_counter() - started  # what each forked kernel did not import itself
    ahead = iter(argv[separator + 1 :])
    buffered = b""
    while True:
        pending = next(ahead, None)
        ready, _, _ = select.select([channel, wakeup_read], [], [], 0 if pending else None)
        if wakeup_read in ready:
            os.read(wakeup_read, 512)
        _reap(channel)
        if channel in ready:
            data = channel.recv(65536)
            if not data:  # the runner closed the channel, or died: its kernels see this process leave
                os._exit(0)
            buffered += data
            while b"\n" in buffered:
                line, buffered = buffered.split(b"\n", 1)
                _send(channel, _answer(json.loads(line), channel, (wakeup_read, wakeup_write)))
        if pending:
            started = time.perf_counter()
            kernel_preload.load(pending)
            kernel_preload.forked_after += time.perf_counter() - started


def _answer(request: dict, channel: socket.socket, wakeup: tuple[int, int]) -> dict:
    argv, cwd, env = request["argv"], request["cwd"], request["env"]
    if tuple(argv[1:3]) != LAUNCHER:
        return {"refused": f"not an ipykernel command line: {argv[:3]}"}
    if threading.active_count() != 1:
        return {"refused": "this process has threads: forking it would be unsafe"}
    started_read, started_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(started_read)
            signal.set_wakeup_fd(-1)
            channel.close()
            os.close(wakeup[0]), os.close(wakeup[1])
            _become_kernel(argv, cwd, env, started_write)
        finally:
            os._exit(1)
    os.close(started_write)
    os.read(started_read, 1)  # EOF once the child has its own session: its pid is then its process group
    os.close(started_read)
    return {"forked": pid}


def _become_kernel(argv: list[str], cwd: str, env: dict[str, str], started: int) -> None:
    """In the child: what ``python -m ipykernel_launcher`` started by jupyter_client would be, then run it."""
    os.setsid()
    os.close(started)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)  # jupyter_client never lets a kernel read the runner's stdin either
    os.close(null)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    os.environ["JPY_PARENT_PID"] = str(os.getppid())  # its parent is this process: it leaves when that goes
    sys.argv = [_LAUNCHER_FILE, *argv[3:]]  # as `python -m` sets it: the module's file
    if sys.path and os.path.abspath(sys.path[0] or ".") == STARTED_IN:
        del sys.path[0]
    _name_process(KERNEL_NAME)
    code: object = 0
    try:
        from ipykernel import kernelapp

        kernelapp.launch_new_instance()
    except SystemExit as leaving:
        code = leaving.code
    finally:
        with contextlib.suppress(Exception):
            atexit._run_exitfuncs()  # what the interpreter would run at exit (the kernel's own handlers)
        from aipx_runbook import kernel_preload

        kernel_preload.leave_at_once(code if isinstance(code, int) else (0 if code is None else 1))


def _reap(channel: socket.socket) -> None:
    for pid, status in _exited():
        _send(channel, {"exited": pid, "code": os.waitstatus_to_exitcode(status)})


def _exited() -> Iterator[tuple[int, int]]:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        yield pid, status


def _send(channel: socket.socket, message: dict) -> None:
    with contextlib.suppress(OSError):  # the runner is gone: the next read sees it
        channel.sendall(json.dumps(message).encode() + b"\n")


def _name_process(name: bytes) -> None:
    """The name ps shows (``/proc/<pid>/comm``): a forked kernel's command line is still this process's."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None).prctl(15, name, 0, 0, 0)  # PR_SET_NAME


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except BaseException:  # noqa: BLE001
        # e.g. the library does not import: the runner then starts fresh kernels, and the stage's notebook shows
        # the failure, named, where the operator reads it (not a traceback of this helper on the terminal)
        os._exit(1)
