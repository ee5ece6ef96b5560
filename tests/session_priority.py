"""A worker's priority, carried to the processes it starts in sessions of their own (Linux autogroups).

With autogroup scheduling (``kernel.sched_autogroup_enabled = 1``, the default of most distributions' kernels, and
of this machine's), the scheduler first shares the CPU between sessions: each session is a group that weighs as
its autogroup's nice (``/proc/PID/autogroup``), and a process's own nice counts only against the processes of
its own session. Terraform (``tfprocess``), the emulator, kernels and browsers start in new sessions
(``start_new_session``), so each is a group of its own at nice 0, whatever nice the worker that started them
has: ``os.nice`` in a worker does not reach them.

`SessionFollower` carries it there: a few times a second it walks the worker's process tree
(``/proc/PID/task/TID/children``) and writes the worker's niceness into the autogroup of every descendant that
leads a session of its own. Anyone may lower the priority of their own processes' groups (the workers off the
critical path); raising it (the critical path's worker, `scheduling.BOOST`) needs privileges, as for nice itself.
Without autogroups (the file is absent) nothing is done and plain nice is what counts. Only priorities change,
not what runs.

A process whose session never called setsid since boot (a CI job its runner starts without one, as this project's
CI does) is in the init autogroup, which is no autogroup at all: its ``/proc/PID/autogroup`` is empty and its
group cannot be reniced. Every descendant leading a session of its own has left it, so each of those is followed.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

PROC = Path("/proc")
INTERVAL_SECONDS = 0.25


def autogroups_enabled() -> bool:
    return (PROC / "self" / "autogroup").exists()


def children(pid: int) -> list[int]:
    """The direct children of a process, from each of its threads (a child belongs to the thread that forked it)."""
    found: list[int] = []
    try:
        tasks = list((PROC / str(pid) / "task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def descendants(pid: int) -> Iterator[int]:
    pending = children(pid)
    while pending:
        child = pending.pop()
        yield child
        pending += children(child)


def autogroup(pid: int) -> tuple[str, int] | None:
    """A process's autogroup and its nice: ``/autogroup-123 nice 0`` -> ("/autogroup-123", 0); None for a process
    in the init autogroup (the kernel prints nothing for it) or one that is gone."""
    try:
        name, _, nice = (PROC / str(pid) / "autogroup").read_text().split()
    except (OSError, ValueError):
        return None
    return name, int(nice)


def renice(pid: int, niceness: int) -> bool:
    """Set the nice of the process's autogroup; False where the kernel refuses (gone, not ours, a negative nice
    without privileges, or rate-limited: an unprivileged process may change one autogroup per 100 ms; the next
    round tries again)."""
    try:
        (PROC / str(pid) / "autogroup").write_text(str(niceness))
    except OSError:
        return False
    return True


def _short_of(nice: int, niceness: int) -> bool:
    """Whether a group's nice falls short of ``niceness`` in its direction (a group someone put further is left)."""
    return nice < niceness if niceness > 0 else nice > niceness


class SessionFollower:
    """Moves the autogroups of a process's descendants to ``niceness``, never back from further: a positive one
    lowers their priority (anyone may), a negative one raises it (privileged: where the kernel refuses, the groups
    keep theirs)."""

    def __init__(self, niceness: int, root: int | None = None, interval: float = INTERVAL_SECONDS) -> None:
        self.niceness = niceness
        self.root = os.getpid() if root is None else root
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def once(self) -> list[int]:
        """One round: the descendants whose group it moved."""
        own = autogroup(self.root)  # None: the root is in the init autogroup, which no descendant shown here is in
        moved = []
        for pid in descendants(self.root):
            group = autogroup(pid)
            if group is None or (own is not None and group[0] == own[0]) or not _short_of(group[1], self.niceness):
                continue
            if renice(pid, self.niceness):
                moved.append(pid)
        return moved

    def follow(self, niceness: int) -> None:
        """From now on, ``niceness`` (0 stops following: groups made before keep theirs)."""
        self.niceness = niceness
        if niceness == 0:
            self.stop()
        else:
            self.start()

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        if self._thread is None and autogroups_enabled():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="session-follower", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.once()
