"""A progress line for the terminal while a long stage runs: papermill shows nothing until a notebook ends."""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TextIO

DEFAULT_INTERVAL_SECONDS = 10.0  # AIPX_PROGRESS_SECONDS overrides it


class Ticker:
    """Prints ``… <label> running <n> s`` every ``interval`` seconds from a thread, until ``stop``.

    Own code (a thread and an Event) rather than a progress-bar library: CI logs need plain lines, not redraws.
    """

    def __init__(self, interval: float = 0, out: TextIO | None = None) -> None:
        self.interval = interval or float(os.environ.get("AIPX_PROGRESS_SECONDS") or DEFAULT_INTERVAL_SECONDS)
        self.out = out
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, label: str) -> None:
        self.stop()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._tick, args=(label, self._stopped), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _tick(self, label: str, stopped: threading.Event) -> None:
        started = time.monotonic()
        while not stopped.wait(self.interval):
            out = self.out or sys.stdout
            print(f"… {label} running {time.monotonic() - started:.0f} s", file=out, flush=True)
