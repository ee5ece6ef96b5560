"""The worker's lowered priority reaches the processes it starts in sessions of their own (tests/session_priority.py),
on real processes of this machine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

import session_priority
from session_priority import SessionFollower

pytestmark = pytest.mark.skipif(
    not session_priority.autogroups_enabled(),
    reason="this kernel schedules without autogroups (kernel.sched_autogroup_enabled = 0 or no /proc/PID/autogroup): "
    "a worker's plain nice already reaches every process it starts",
)
# The highest nice: whatever a worker's own follower set on these processes first, this one's is higher.
NICEST = 19
# A child in this process's session that starts a grandchild in a session of its own, as the library starts
# Terraform, the emulator and kernels; it prints the grandchild's pid.
PARENT = (
    "import subprocess, sys, time; "
    "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'], start_new_session=True); "
    "print(p.pid, flush=True); time.sleep(60)"
)


@pytest.fixture(autouse=True)
def worker_follower_paused(pytestconfig: pytest.Config) -> Iterator[None]:
    """Under xdist this test's own worker follows its sessions too (scheduling.Yielder), and would move the groups
    made here to its own level: it pauses while a test here runs."""
    plugin = pytestconfig.pluginmanager.get_plugin("aipx-critical-path-first")
    follower = getattr(plugin, "follower", None)
    paused = follower is not None and follower.running
    if paused:
        follower.stop()
    yield
    if paused:
        follower.start()


@pytest.fixture
def family() -> Iterator[tuple[int, int]]:
    child = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    grandchild = int(child.stdout.readline())
    try:
        yield child.pid, grandchild
    finally:
        os.killpg(grandchild, signal.SIGKILL)  # it leads its own session, so its process group too
        child.kill()
        child.wait()


def test_a_descendant_leading_its_own_session_gets_the_workers_niceness(family: tuple[int, int]) -> None:
    child, grandchild = family
    own = session_priority.autogroup(os.getpid())  # None where this process is in the init autogroup (CI)
    assert session_priority.autogroup(child) == own, "the child shares this process's group"
    made = session_priority.autogroup(grandchild)
    assert made is not None and (own is None or made[0] != own[0]), "start_new_session made a group of its own"

    follower = SessionFollower(NICEST, root=child)  # the child's tree only, not the worker's other processes
    assert follower.once() == [grandchild]
    assert session_priority.autogroup(grandchild)[1] == NICEST
    assert session_priority.autogroup(child) == own, "the root's own group (this process's) is untouched"
    assert follower.once() == [], "a group already at the niceness is left as it is"


def test_the_follower_keeps_lowering_in_the_background_until_stopped(family: tuple[int, int]) -> None:
    child, grandchild = family
    follower = SessionFollower(NICEST, root=child, interval=0.01)
    follower.start()
    try:
        deadline = time.monotonic() + 10
        while session_priority.autogroup(grandchild)[1] != NICEST and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        follower.stop()
    assert session_priority.autogroup(grandchild)[1] == NICEST


def test_nothing_is_lowered_for_a_process_without_descendants() -> None:
    lonely = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        assert SessionFollower(NICEST, root=lonely.pid).once() == []
        assert session_priority.autogroup(lonely.pid)[1] != NICEST, "the root's own group is never changed"
    finally:
        lonely.kill()
        lonely.wait()


def test_a_privileged_worker_raises_the_priority_of_its_sessions(family: tuple[int, int]) -> None:
    child, grandchild = family
    if not session_priority.renice(grandchild, -1):
        pytest.skip("raising a group's priority needs privileges (CAP_SYS_NICE, as root in CI): not here")
    assert SessionFollower(-2, root=child).once() == [grandchild]
    assert session_priority.autogroup(grandchild)[1] == -2
    assert SessionFollower(-1, root=child).once() == [], "a group someone put further is left where it is"
    assert SessionFollower(NICEST, root=child).once() == [grandchild], "when the worker steps back, its sessions follow"


def test_a_root_in_the_init_autogroup_moves_the_sessions_below_it(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A process whose session never called setsid (a CI job started without one) is in the init autogroup: the
    kernel prints nothing for it, and every session-leading descendant is in a group of its own. A double of /proc
    stands for it here, as nothing this session starts can be in that group (every session here began with setsid);
    in CI the tests above run as such a process."""
    proc = tmp_path / "proc"
    for pid, text, below in ((100, "", "200 300"), (200, "/autogroup-7 nice 0\n", "400"), (300, "", ""), (400, "", "")):
        (proc / str(pid) / "task" / str(pid)).mkdir(parents=True)
        (proc / str(pid) / "autogroup").write_text(text)
        (proc / str(pid) / "task" / str(pid) / "children").write_text(below)
    monkeypatch.setattr(session_priority, "PROC", proc)
    assert session_priority.autogroup(100) is None
    assert SessionFollower(NICEST, root=100).once() == [200]
    assert (proc / "200" / "autogroup").read_text() == str(NICEST)
    assert (proc / "300" / "autogroup").read_text() == "", "a child left in the init group is not written to"
