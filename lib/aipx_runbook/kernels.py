"""Kernels for a headless run: a fresh kernel process per stage, each started while the stage before it runs.

Starting a Python kernel and importing the library costs about a second per stage, every stage. The runner
takes each stage's kernel from a ``KernelPool``, which at that moment starts the kernels of the next stages, so
they boot (and import ``aipx_runbook.stages`` and what their stage needs, through IPython's ``exec_lines``:
kernel_preload.py) while the current stage works.
Every stage still gets a process of its own that ran nothing before (no Python state passes between
stages), and papermill (through nbclient, which takes a started kernel manager as ``km``) still writes one
executed notebook per stage: the same cells, outputs and execution counts as with a cold kernel. A kernel is
asked to shut down as its stage ends and reaped later, so the next stage does not wait for it.

With kernels started ahead, each is forked from one process that imported all of that once for the run
(forked_kernels.py, kernel_zygote.py) instead of started as a fresh interpreter: about half a CPU-second less per
stage. ``AIPX_FORK_KERNELS=0`` starts fresh interpreters instead.

``AIPX_WARM_KERNELS=0`` turns the early start off: each kernel then starts when its stage begins, as a fresh
interpreter; ``AIPX_WARM_KERNELS=N`` starts the kernels of the next N stages ahead (default 2).
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any

from . import kernel_preload

KERNEL_NAME = "python3"
# ipykernel warns on every start that its local TCP transport is unencrypted; keep errors only.
KERNEL_ARGUMENTS = ("--IPKernelApp.log_level=ERROR",)
STARTUP_TIMEOUT = 120
DEFAULT_AHEAD = 2


def kernels_ahead() -> int:
    """How many stages' kernels start ahead: ``AIPX_WARM_KERNELS`` (0 or off: none), else DEFAULT_AHEAD."""
    value = os.environ.get("AIPX_WARM_KERNELS", "").strip().lower()
    if value in ("0", "false", "no", "off"):
        return 0
    return int(value) if value.isdigit() else DEFAULT_AHEAD


def _run_sync(coroutine_function: Any) -> Any:
    from jupyter_core.utils import run_sync  # the loop nbclient (inside papermill) uses in this thread too

    return run_sync(coroutine_function)


async def ready_client(manager: Any, timeout: float = STARTUP_TIMEOUT) -> Any:
    """A started client of ``manager``'s kernel once the kernel answers on shell and IOPub.

    Own loop rather than jupyter_client's ``wait_for_ready``: that one ends with 0.2 s of silence on IOPub,
    every time. Here the kernel's "idle" status for our ``kernel_info_request``, the last message the kernel
    publishes for it, shows that IOPub is connected; until it comes (IOPub subscribes late), ask again."""
    client = manager.client()
    client.start_channels()
    deadline = time.monotonic() + timeout
    asked: set[str] = set()
    patience = 0.05  # doubled up to a second while no idle comes: a loaded machine publishes it late
    try:
        while True:
            request = client.kernel_info()
            asked.add(request)
            if await _reply(client, request, deadline) and await _idle(client, asked, patience):
                return client
            if not await manager.is_alive():
                raise RuntimeError("the kernel died before it answered")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the kernel did not answer within {timeout:.0f} s")
            patience = min(patience * 2, 1.0)
    except BaseException:
        client.stop_channels()
        raise


async def _reply(client: Any, request: str, deadline: float) -> bool:
    from queue import Empty

    while time.monotonic() < deadline:
        try:
            message = await client.get_shell_msg(timeout=1)
        except Empty:
            return False
        if message["parent_header"].get("msg_id") == request:
            client._handle_kernel_info_reply(message)  # what wait_for_ready does with it (protocol version)
            return True
    return False


async def _idle(client: Any, asked: set[str], patience: float) -> bool:
    """The kernel's idle for any of the requests asked so far: IOPub is connected."""
    from queue import Empty

    while True:
        try:
            message = await client.get_iopub_msg(timeout=patience)
        except Empty:
            return False
        if (
            message["parent_header"].get("msg_id") in asked
            and message["msg_type"] == "status"
            and message["content"].get("execution_state") == "idle"
        ):
            return True


class KernelPool:
    """Hands out one started kernel manager per stage, in the order of ``stages`` (the names of the stages)."""

    def __init__(self, cwd: Path, stages: list[str], ahead: int | None = None) -> None:
        self.cwd = cwd
        self.stages = list(stages)
        self.ahead = kernels_ahead() if ahead is None else ahead
        self._waiting: list[Any] = []  # kernel managers started ahead, one per stage of self.stages, in order
        self._stopping: list[Any] = []
        self._started: list[Any] = []
        self.waited: dict[int, float] = {}  # seconds each taken kernel's stage waited for it to answer
        self._clients: dict[int, Any] = {}  # id(manager) -> its connected client, for the kernels taken
        self._zygote: Any = None  # forked_kernels.Zygote, once the first kernel is started ahead

    def _start(self, stage: str) -> Any:
        import uuid

        from jupyter_client.manager import AsyncKernelManager

        from . import forked_kernels

        manager = AsyncKernelManager(kernel_name=KERNEL_NAME)
        if self.ahead and forked_kernels.enabled():
            if self._zygote is None:
                self._zygote = forked_kernels.Zygote(
                    str(self.cwd), *kernel_preload.imported_ahead([stage, *self.stages])
                )
            manager.kernel_id = str(uuid.uuid4())
            manager.provisioner = forked_kernels.ForkedProvisioner(
                kernel_id=manager.kernel_id, kernel_spec=manager.kernel_spec, parent=manager
            )
            manager.provisioner.zygote = self._zygote
        preload = f"__import__('aipx_runbook.kernel_preload').kernel_preload.preload({stage!r})"
        arguments = [*KERNEL_ARGUMENTS, f"--IPKernelApp.exec_lines={preload}"]
        _run_sync(manager.start_kernel)(cwd=str(self.cwd), extra_arguments=arguments)
        self._started.append(manager)
        return manager

    def start_first(self) -> None:
        """Start the first stage's kernel now, without waiting for it to answer: it boots while the runner goes on
        with its own start (papermill's import, the emulator). Nothing when kernels do not start ahead."""
        if self.ahead and self.stages and not self._waiting:
            self._waiting.append(self._start(self.stages[0]))

    def take(self) -> Any:
        """The kernel for the stage about to run, answering; the next stage's kernel starts now. Its connected
        client is ``client(manager)``: hand it to the notebook engine (notebook_engine.py) so nothing waits twice."""
        self._reap()
        started = time.perf_counter()
        stage = self.stages.pop(0) if self.stages else ""
        manager = self._waiting.pop(0) if self._waiting else self._start(stage)
        while len(self._waiting) < min(self.ahead, len(self.stages)):
            self._waiting.append(self._start(self.stages[len(self._waiting)]))
        self._clients[id(manager)] = _run_sync(ready_client)(manager)
        self.waited[id(manager)] = time.perf_counter() - started
        return manager

    def client(self, manager: Any) -> Any:
        """The connected, answering client of a kernel ``take`` handed out (None for any other)."""
        return self._clients.get(id(manager))

    def kernel_pid(self, manager: Any) -> int | None:
        provisioner = getattr(manager, "provisioner", None)
        return getattr(getattr(provisioner, "process", None), "pid", None)

    def release(self, manager: Any) -> None:
        """Ask a stage's kernel to shut down once its stage is done; it is reaped at the next take or close."""
        if manager is None or manager not in self._started or manager in self._stopping:
            return
        client = self._clients.pop(id(manager), None)
        if client is not None:
            client.stop_channels()
        with contextlib.suppress(Exception):  # a kernel that died already: reaping cleans it up
            _run_sync(manager.request_shutdown)()
        self._stopping.append(manager)

    def _reap(self, wait: bool = False) -> None:
        """Clean up the kernels that finished shutting down; with ``wait``, wait for (or end) every one."""
        still = []
        for manager in self._stopping:
            if wait or not _run_sync(manager.is_alive)():
                with contextlib.suppress(Exception):  # already gone
                    # waits a moment (looking every 10 ms, not jupyter_client's 100), then terminates the process
                    _run_sync(manager.finish_shutdown)(pollinterval=0.01)
                    _run_sync(manager.cleanup_resources)()
                self._started.remove(manager)
            else:
                still.append(manager)
        self._stopping = still

    def stop(self) -> None:
        """Without waiting: end the kernels started ahead and not used (they ran nothing), and ask the others
        to shut down. ``close`` then waits for them; meanwhile the runner finishes its own work."""
        for waiting in self._waiting:
            with contextlib.suppress(Exception):  # already gone
                _run_sync(waiting.shutdown_kernel)(now=True)
            self._started.remove(waiting)
        self._waiting = []
        for manager in list(self._started):
            self.release(manager)

    def close(self) -> None:
        """End every kernel this pool started, and wait until each has; then the process they were forked from."""
        self.stop()
        self._reap(wait=True)
        if self._zygote is not None:
            self._zygote.close()
            self._zygote = None

    def __enter__(self) -> KernelPool:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
