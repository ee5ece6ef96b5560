"""Kernels for a headless run: a fresh kernel process per stage, each started while the stage before it runs.

Starting a Python kernel and importing the library costs about a second per stage, every stage. The runner
takes each stage's kernel from a ``KernelPool``, which at that moment starts the next stage's kernel, so it
boots (and imports ``aipx_runbook.stages``, through IPython's ``exec_lines``) while the current stage works.
Every stage still gets a process of its own that ran nothing before (no Python state passes between
stages), and papermill (through nbclient, which takes a started kernel manager as ``km``) still writes one
executed notebook per stage: the same cells, outputs and execution counts as with a cold kernel. A kernel is
asked to shut down as its stage ends and reaped later, so the next stage does not wait for it.

``AIPX_WARM_KERNELS=0`` turns the early start off: each kernel then starts when its stage begins.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any

from . import timings

KERNEL_NAME = "python3"
# ipykernel warns on every start that its local TCP transport is unencrypted; keep errors only.
KERNEL_ARGUMENTS = ("--IPKernelApp.log_level=ERROR",)
PRELOAD = "__import__('aipx_runbook.kernels').kernels.preload()"
STARTUP_TIMEOUT = 120


def warm_by_default() -> bool:
    return os.environ.get("AIPX_WARM_KERNELS", "1").strip().lower() not in ("0", "false", "no", "off")


def preload() -> None:
    """Run inside a kernel as it starts: import what a stage's first cells import, and count it as done ahead."""
    started = time.perf_counter()
    import aipx_runbook.stages  # noqa: F401

    timings.reset()
    timings.ahead("imports", time.perf_counter() - started)


def _run_sync(coroutine_function: Any) -> Any:
    from jupyter_core.utils import run_sync  # the loop nbclient (inside papermill) uses in this thread too

    return run_sync(coroutine_function)


class KernelPool:
    """Hands out one started kernel manager per stage; ``stages`` is how many the run will take at most."""

    def __init__(self, cwd: Path, stages: int, warm: bool | None = None) -> None:
        self.cwd = cwd
        self.remaining = stages
        self.warm = warm_by_default() if warm is None else warm
        self._waiting: Any = None  # the next stage's kernel manager, started ahead
        self._stopping: list[Any] = []
        self._started: list[Any] = []
        self.waited: dict[int, float] = {}  # seconds each taken kernel's stage waited for it to answer

    def _start(self) -> Any:
        from jupyter_client.manager import AsyncKernelManager

        manager = AsyncKernelManager(kernel_name=KERNEL_NAME)
        arguments = [*KERNEL_ARGUMENTS, f"--IPKernelApp.exec_lines={PRELOAD}"]
        _run_sync(manager.start_kernel)(cwd=str(self.cwd), extra_arguments=arguments)
        self._started.append(manager)
        return manager

    def take(self) -> Any:
        """The kernel for the stage about to run, answering; the next stage's kernel starts now."""
        self._reap()
        started = time.perf_counter()
        manager = self._waiting or self._start()
        self._waiting = None
        self.remaining -= 1
        if self.warm and self.remaining > 0:
            self._waiting = self._start()
        _run_sync(self._wait_for_ready)(manager)
        self.waited[id(manager)] = time.perf_counter() - started
        return manager

    @staticmethod
    async def _wait_for_ready(manager: Any) -> None:
        client = manager.client()
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=STARTUP_TIMEOUT)
        finally:
            client.stop_channels()

    def kernel_pid(self, manager: Any) -> int | None:
        provisioner = getattr(manager, "provisioner", None)
        return getattr(getattr(provisioner, "process", None), "pid", None)

    def release(self, manager: Any) -> None:
        """Ask a stage's kernel to shut down once its stage is done; it is reaped at the next take or close."""
        if manager is None or manager not in self._started or manager in self._stopping:
            return
        with contextlib.suppress(Exception):  # a kernel that died already: reaping cleans it up
            _run_sync(manager.request_shutdown)()
        self._stopping.append(manager)

    def _reap(self, wait: bool = False) -> None:
        """Clean up the kernels that finished shutting down; with ``wait``, wait for (or end) every one."""
        still = []
        for manager in self._stopping:
            if wait or not _run_sync(manager.is_alive)():
                with contextlib.suppress(Exception):  # already gone
                    _run_sync(manager.finish_shutdown)()  # waits a moment, then terminates the process
                    _run_sync(manager.cleanup_resources)()
                self._started.remove(manager)
            else:
                still.append(manager)
        self._stopping = still

    def close(self) -> None:
        """End every kernel this pool started: the unused one waiting (it ran nothing), then the stopping ones."""
        if self._waiting is not None:
            with contextlib.suppress(Exception):  # already gone
                _run_sync(self._waiting.shutdown_kernel)(now=True)
            self._started.remove(self._waiting)
            self._waiting = None
        for manager in list(self._started):
            self.release(manager)
        self._reap(wait=True)

    def __enter__(self) -> KernelPool:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
