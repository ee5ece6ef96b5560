"""Ctrl-C during a headless run: Terraform gets the interrupt and stops gracefully; the run then ends cleanly.

A terminal's Ctrl-C reaches only the runner: the notebook's kernel and Terraform run in sessions of their own
(so that a dying runner or kernel can never break Terraform mid-write). The runner forwards the interrupt to
the Terraform process working for its run (tfprocess.py names it), which finishes its current step, saves the
state and releases its lock; the stage then fails as "interrupted" and the run writes its summary. With no
Terraform running, the interrupt stops the stage at once.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

from . import tfprocess


class Interruption:
    def __init__(self) -> None:
        self.happened = False


@contextlib.contextmanager
def forwarded_to_terraform(run_dir: Path) -> Iterator[Interruption]:
    state = Interruption()
    if threading.current_thread() is not threading.main_thread():
        yield state
        return

    def handler(signum: int, frame: object) -> None:
        state.happened = True
        pids = tfprocess.interrupt_run(run_dir)
        if not pids:
            raise KeyboardInterrupt
        print(
            f"\nCtrl-C: Terraform (pid {', '.join(map(str, pids))}) was asked to stop gracefully; it saves the state "
            "and releases the lock, then the run ends. Waiting for it…",
            flush=True,
        )

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield state
    finally:
        signal.signal(signal.SIGINT, previous)
