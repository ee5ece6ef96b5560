"""The order in which `make test` hands work to its xdist workers: the longest first, so both workers end together.

Under ``--dist loadgroup`` a unit of work is an xdist group (which one worker runs whole, sharing its fixtures)
or a single test; each worker takes the next unit of the queue as it runs low. Handed out in collection order, a
long group met late keeps one worker busy long after the other has finished. Longest first (LPT scheduling)
starts the long units while the short ones fill the other worker. `make test` passes ``--no-loadscope-reorder``
so that xdist keeps this order instead of sorting units by their number of tests.

A unit's expected seconds are what it took the last time it ran here (recorded in pytest's cache by the
controller), else the rough figures below from `make test` on 2 cores; the rest keep their collection order.
Only the order changes: what runs and what is checked stays the same.

The AIPX lifecycle is the critical path: its two apply/destroy cycles wait minutes on the AWS provider's fixed
delays (the database's create and delete), and the suite cannot end before it. What it does between those waits
(Terraform's plans and refreshes, the IAM-enforcing emulator) should not queue behind the other workers' notebooks
and Terraform runs: each worker lowers its own priority (`os.nice`, which any user may do) when it starts a test
outside CRITICAL_PATH, and so the priority of what it starts after that (emulators, kernels, Terraform): these
start in sessions of their own, which under Linux's autogroup scheduling only a session's own nice reaches, so
the worker also lowers those (`session_priority.SessionFollower`). Where it may (root, as in CI), the critical
path's worker raises its own and its sessions' priority (BOOST). The lifecycle's processes get the CPU when they
need it; the other workers still have every cycle the lifecycle leaves idle, which is most of them.
"""

from __future__ import annotations

import os
from collections import defaultdict
from typing import Any

import pytest

from session_priority import SessionFollower

CACHE_KEY = "aipx/unit-seconds"
# Units on the suite's critical path (run at a raised priority where allowed, else the normal one), and how far the
# others' workers (and the sessions they start) step back.
CRITICAL_PATH = frozenset({"aipx_lifecycle"})
# 3: a niced process weighs half a normal one (CFS). Five made an emulator start in a niced worker miss its 30 s
# while other sessions loaded the machine to 10.
NICENESS = 3
# Where it may (root, as in CI), the critical path's worker and sessions also step up: at -8 a process weighs 6x a
# normal one and 12x one at +3, so the lifecycle's plans and refreshes take the CPU they need when they need it
# (they are short: about 90 CPU-s in the whole lifecycle), and wait for nobody.
BOOST = 8
# Seconds per unit (setup, call and teardown of its tests) in `make test` on a clean clone, 2 cores, 2026-11-28 16:58
# UTC, load 0.9 (units of 10 s and more; a clean clone has no cache, so CI orders by these).
TYPICAL_SECONDS = {
    "aipx_lifecycle": 437.4,
    "drift_and_review": 156.1,
    "browser": 134.4,
    "tests/training/test_drills.py": 129.5,
    "tests/integration/test_protected_backend.py": 104.7,
    "tests/notebooks/test_papermill.py": 57.1,
    "tests/integration/test_shared_emulator.py": 46.6,
    "tests/notebooks/test_strict_parameters.py": 41.9,
    "tests/integration/test_interrupts.py": 38.1,
    "iam_enforced": 37.8,
    "tests/integration/test_state_and_locks.py": 29.4,
    "tests/integration/test_secrets_at_rest.py": 28.9,
    "tests/integration/test_pipeline.py": 26.4,
    "aipx_plan": 24.7,
    "tests/integration/test_apply_destroy.py": 24.4,
    "tests/notebooks/test_nbval.py": 18.6,
    "tests/integration/test_backend.py": 16.5,
    "terraform_init": 15.6,
    "warm_kernels": 15.3,
    "tests/integration/test_verify.py": 13.8,
    "checkov": 12.1,
    "tests/notebooks/test_no_revealed_values.py": 10.4,
}


def is_worker(config: pytest.Config) -> bool:
    """An xdist worker. The controller hands out the tests in the order the workers collected them, so that is
    where they are sorted (each worker sorts alike, from the same cache: xdist checks that their collections agree).
    A worker's own `dist` option reads "no" (xdist resets it there), so it is known by its `workerinput`."""
    return hasattr(config, "workerinput")


def is_controller(config: pytest.Config) -> bool:
    """xdist's controller (`-n N` with a `--dist` mode): it records each unit's seconds as the reports arrive."""
    return not is_worker(config) and config.getoption("dist", "no") != "no"


def unit(nodeid: str) -> str:
    """What a test is timed and ordered by: its xdist group, else its file. By file, not by test: a module's
    tests stay together, so its module-scoped fixtures are still set up once per worker."""
    return nodeid.rsplit("@", 1)[1] if "@" in nodeid else nodeid.split("::", 1)[0]


def _unit_of(item: pytest.Item) -> str:
    group = item.get_closest_marker("xdist_group")
    if group is not None:
        return str(group.args[0] if group.args else group.kwargs.get("name", ""))
    return unit(item.nodeid)


def _recorded(config: pytest.Config) -> dict[str, float]:
    """The seconds recorded by earlier runs: on a worker, as its controller read them (so every worker sorts alike
    even should another run rewrite the cache meanwhile: xdist aborts when the workers' collections differ)."""
    workerinput = getattr(config, "workerinput", {})
    if CACHE_KEY in workerinput:
        return dict(workerinput[CACHE_KEY])
    cache = getattr(config, "cache", None)  # absent under -p no:cacheprovider
    return dict(cache.get(CACHE_KEY, {})) if cache is not None else {}


def longest_first(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Sort the collected tests by their unit's expected seconds, longest first (stable: ties keep their order)."""
    expected = {**TYPICAL_SECONDS, **_recorded(config)}
    seconds = {item.nodeid: expected.get(_unit_of(item), 0.0) for item in items}
    items.sort(key=lambda item: -seconds[item.nodeid])


class Recorder:
    """On the controller (or a run without xdist): each unit's seconds, written to the cache as the run ends."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.seconds: dict[str, float] = defaultdict(float)
        self.recorded = _recorded(config)

    def pytest_configure_node(self, node: Any) -> None:
        """xdist's hook as it starts a worker: hand it the seconds read here, once for all workers."""
        node.workerinput[CACHE_KEY] = self.recorded

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.seconds[unit(report.nodeid)] += report.duration

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: Any) -> None:
        if getattr(self.config, "cache", None) is None or not self.seconds:
            return
        recorded = dict(self.config.cache.get(CACHE_KEY, {}))
        recorded.update({name: round(value, 1) for name, value in self.seconds.items()})
        self.config.cache.set(CACHE_KEY, recorded)


class Yielder:
    """On a worker: its priority for the unit at hand, with that of the sessions it starts (``follower``, see
    `session_priority`): raised by BOOST for a unit of CRITICAL_PATH where that is allowed (root, as in CI; else it
    stays), lowered by NICENESS for any other (always allowed). It changes only where the next test needs another
    level, so a worker steps back once, at its first test off the critical path."""

    def __init__(self, nice: Any = os.nice, follower: SessionFollower | None = None) -> None:
        self.nice = nice
        self.follower = follower
        self.level = 0  # the niceness this worker set itself to, relative to where it started

    @property
    def yielded(self) -> bool:
        return self.level > 0

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        target = -BOOST if _unit_of(item) in CRITICAL_PATH else NICENESS
        if target == self.level:
            return
        try:
            self.nice(target - self.level)
        except PermissionError:  # only a privileged process may raise its priority: it stays where it is
            return
        self.level = target
        if self.follower is not None:
            self.follower.follow(target)
