"""Kernels for a headless run: a fresh kernel process per stage, each started while the stage before it runs.

Starting a Python kernel and importing the library costs about a second per stage, every stage. The runner
takes each stage's kernel from a ``KernelPool``, which at that moment starts the kernels of the next stages, so
they boot (and import ``aipx_runbook.stages`` and what their stage needs, through IPython's ``exec_lines``)
while the current stage works.
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

import atexit
import contextlib
import importlib
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from . import timings

KERNEL_NAME = "python3"
# ipykernel warns on every start that its local TCP transport is unencrypted; keep errors only.
KERNEL_ARGUMENTS = ("--IPKernelApp.log_level=ERROR",)
STARTUP_TIMEOUT = 120
DEFAULT_AHEAD = 2
# What a stage's cells import on first use besides the library, loaded as its kernel starts ahead, and only in
# that stage's kernel: the AWS SDK where a stage calls AWS, jinja2 where it draws charts (charts.py).
SDK = ("boto3", "botocore.client")
CHARTS = ("jinja2",)
PRELOADS: dict[str, tuple[str, ...]] = {
    "prerequisites": SDK,
    "backend": SDK,
    "plan": CHARTS,
    "verify": SDK,
    "state": SDK,
    "budget": (*SDK, *CHARTS),
}
# The AWS services whose models a stage's kernel reads as it starts ahead (aws.warm), for the calls its first
# cells make: what every run's stage makes, not what only the AIPX stack's verify adds.
# The stages that read the environment's aws.tfvars (python-hcl2) before their first Terraform command.
READS_TFVARS = frozenset({"plan", "destroy"})
SERVICES: dict[str, tuple[str, ...]] = {
    "prerequisites": ("sts",),
    "backend": ("s3", "dynamodb"),
    "verify": ("s3",),
    "state": ("s3", "dynamodb"),
}


# In a kernel forked from kernel_zygote.py: the seconds that process spent importing before it forked this one.
forked_after = 0.0


def kernels_ahead() -> int:
    """How many stages' kernels start ahead: ``AIPX_WARM_KERNELS`` (0 or off: none), else DEFAULT_AHEAD."""
    value = os.environ.get("AIPX_WARM_KERNELS", "").strip().lower()
    if value in ("0", "false", "no", "off"):
        return 0
    return int(value) if value.isdigit() else DEFAULT_AHEAD


def imported_ahead(stages: list[str]) -> tuple[list[str], list[str]]:
    """What the process kernels are forked from imports for these stages: before the first stage's kernel, what
    that stage's first cells call (the AWS SDK and its service models); not python-hcl2's parser or the chart
    template, which the first kernel loads on its own thread while its first cells run (waiting for them in the
    forking process delayed a lone stage 03 by 0.1-0.2 s); then what the other stages need, in the order they
    need it (the names kernel_zygote.py takes: modules, ``aws:<service>``, ``hcl2``)."""
    names: list[list[str]] = []
    for stage in stages:
        needs = [*PRELOADS.get(stage, ()), *(f"aws:{service}" for service in SERVICES.get(stage, ()))]
        names.append(needs + (["hcl2"] if stage in READS_TFVARS else []))
    first = [name for name in names[0] if name not in (*CHARTS, "hcl2")] if names else []
    return first, [name for name in dict.fromkeys(sum(names[1:], [])) if name not in first]


def preload(stage: str = "") -> None:
    """Run inside a kernel as it starts: import the library now, and what the stage's cells import besides it on a
    thread of the kernel, which goes on while the kernel already answers (the first stage's kernel is waited for,
    and the stage's first cells and Terraform need none of it); counted as work done ahead."""
    started = time.perf_counter()
    if stage == "prerequisites":
        from . import aws_cli

        aws_cli.ask_ahead()  # a subprocess, first: it runs while this kernel imports and waits for its stage
    import aipx_runbook.stages  # noqa: F401

    timings.reset()
    timings.kernel_began("forked" if forked_after else "fresh")
    timings.ahead("imports", forked_after + time.perf_counter() - started)
    atexit.register(_leave_at_once)
    threading.Thread(target=_preload_rest, args=(stage,), name="aipx-preload", daemon=True).start()


def _leave_at_once() -> None:
    """The kernel's last step once its stage is done and it was asked to shut down: leave without the rest of the
    interpreter's shutdown (IPython's history database, tearing down every module: a fifth of a second that the
    run's end waits for). Registered after IPython's own exit handlers, so it runs before them; the executed
    notebook and every record were written by then, and what the kernel printed is flushed first."""
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(0)


def _preload_rest(stage: str) -> None:
    """The stage's own heavy imports and AWS service models; a cell that needs one first waits for its import."""
    started = time.perf_counter()
    with contextlib.suppress(Exception):  # anything missing fails again, named, where the stage imports it
        for module in PRELOADS.get(stage, ()):
            importlib.import_module(module)
        if stage in SERVICES:
            from . import aws, config

            aws.warm(SERVICES[stage], config.DEFAULT_REGION)
        if stage in READS_TFVARS:
            import hcl2

            hcl2.loads("warm = 1\n")  # builds python-hcl2's Lark parser, before the stage reads aws.tfvars
    timings.ahead("thread imports", time.perf_counter() - started)


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
                self._zygote = forked_kernels.Zygote(str(self.cwd), *imported_ahead([stage, *self.stages]))
            manager.kernel_id = str(uuid.uuid4())
            manager.provisioner = forked_kernels.ForkedProvisioner(
                kernel_id=manager.kernel_id, kernel_spec=manager.kernel_spec, parent=manager
            )
            manager.provisioner.zygote = self._zygote
        preload = f"__import__('aipx_runbook.kernels').kernels.preload({stage!r})"
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
