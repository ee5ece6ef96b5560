"""Executed notebooks rendered to HTML on one worker thread, while the runner goes on to the next stage.

nbconvert takes about as long to import and to render a notebook as a short stage takes to run; nothing the
next stage does depends on the HTML, so the runner hands each notebook to this queue and waits for all of
them before it writes the run's summary and index. The worker first runs ``prepare`` (importing nbconvert and
building its exporter) once the runner calls ``start``, as the first stage begins: not earlier, when the first
kernel, the emulator and papermill's import already share the CPU.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any


class RenderQueue:
    def __init__(self, render: Callable[[Path], Any], prepare: Callable[[], Any] | None = None) -> None:
        self._render = render
        self._prepare = prepare
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="aipx-render")
        self._pending: list[Future[None]] = []

    def start(self) -> None:
        """Run ``prepare`` on the worker now (once; ``submit`` does it first too)."""
        if self._prepare is not None:
            self._pending.append(self._executor.submit(self._prepare))
            self._prepare = None

    def submit(self, notebook: Path, done: Callable[[float], None]) -> None:
        """Render ``notebook`` in the background; ``done(seconds)`` is called once it is written."""
        self.start()

        def work() -> None:
            started = time.perf_counter()
            self._render(notebook)
            done(time.perf_counter() - started)

        self._pending.append(self._executor.submit(work))

    def wait(self) -> None:
        """Wait for every notebook handed in; a rendering failure is raised here, after the others finished."""
        pending, self._pending = self._pending, []
        try:
            for future in pending:
                future.exception()
            for future in pending:
                future.result()
        finally:
            self._executor.shutdown(wait=True)
