"""The order make test hands out its work in: longest unit first, a module's tests together, only the order changed."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import scheduling


@dataclass
class Item:
    nodeid: str
    group: str = ""

    def get_closest_marker(self, name: str) -> Any:
        return SimpleNamespace(args=(self.group,), kwargs={}) if name == "xdist_group" and self.group else None


class Cache:
    def __init__(self, values: dict[str, Any] | None = None) -> None:
        self.values = dict(values or {})

    def get(self, key: str, default: Any) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self.values[key] = value


def _config(recorded: dict[str, float] | None = None) -> Any:
    return SimpleNamespace(cache=Cache({scheduling.CACHE_KEY: recorded} if recorded else {}))


def test_the_longest_units_go_first_and_a_modules_tests_stay_together() -> None:
    items = [
        Item("tests/unit/test_a.py::one"),
        Item("tests/unit/test_b.py::one"),
        Item("tests/unit/test_a.py::two"),
        Item("tests/integration/test_x.py::slow", group="heavy"),
        Item("tests/unit/test_b.py::two"),
        Item("tests/integration/test_y.py::also", group="heavy"),
    ]
    recorded = {"heavy": 300.0, "tests/unit/test_b.py": 20.0, "tests/unit/test_a.py": 1.0}
    ordered = list(items)
    scheduling.longest_first(_config(recorded), ordered)
    assert [item.nodeid for item in ordered] == [
        "tests/integration/test_x.py::slow",
        "tests/integration/test_y.py::also",
        "tests/unit/test_b.py::one",
        "tests/unit/test_b.py::two",
        "tests/unit/test_a.py::one",
        "tests/unit/test_a.py::two",
    ]
    assert sorted(ordered, key=lambda item: item.nodeid) == sorted(items, key=lambda item: item.nodeid)


def test_without_a_record_the_typical_figures_order_and_the_rest_keep_theirs() -> None:
    heaviest = max(scheduling.TYPICAL_SECONDS, key=scheduling.TYPICAL_SECONDS.__getitem__)
    items = [Item("tests/unit/test_a.py::one"), Item("tests/unit/test_c.py::one"), Item("t.py::x", group=heaviest)]
    scheduling.longest_first(_config(), items)
    assert [item.nodeid for item in items] == ["t.py::x", "tests/unit/test_a.py::one", "tests/unit/test_c.py::one"]


def test_the_controller_records_seconds_per_group_and_per_file() -> None:
    config = _config({"old": 5.0})
    recorder = scheduling.Recorder(config)
    for nodeid, seconds in (
        ("tests/integration/test_x.py::slow@heavy", 2.0),
        ("tests/integration/test_y.py::also@heavy", 3.0),
        ("tests/unit/test_a.py::one", 0.5),
        ("tests/unit/test_a.py::two", 0.25),
    ):
        recorder.pytest_runtest_logreport(SimpleNamespace(nodeid=nodeid, duration=seconds))
    recorder.pytest_sessionfinish(None, 0)
    assert config.cache.values[scheduling.CACHE_KEY] == {"old": 5.0, "heavy": 5.0, "tests/unit/test_a.py": 0.8}


def test_a_worker_steps_back_once_at_its_first_test_off_the_critical_path() -> None:
    calls: list[int] = []
    yielder = scheduling.Yielder(nice=calls.append)
    yielder.pytest_runtest_setup(Item("tests/unit/test_a.py::one"))
    yielder.pytest_runtest_setup(Item("tests/unit/test_a.py::two"))
    yielder.pytest_runtest_setup(Item("t.py::x", group="heavy"))
    assert calls == [scheduling.NICENESS], "lowered once, by NICENESS, at the first other test"
    assert yielder.yielded


def test_the_critical_path_steps_up_where_allowed_and_its_worker_steps_back_after_it() -> None:
    [critical] = scheduling.CRITICAL_PATH
    calls: list[int] = []
    yielder = scheduling.Yielder(nice=calls.append)
    yielder.pytest_runtest_setup(Item("tests/integration/test_life.py::first", group=critical))
    yielder.pytest_runtest_setup(Item("tests/integration/test_life.py::second", group=critical))
    assert calls == [-scheduling.BOOST], "raised once for the critical path"
    yielder.pytest_runtest_setup(Item("tests/unit/test_a.py::one"))
    assert calls == [-scheduling.BOOST, scheduling.BOOST + scheduling.NICENESS]


def unprivileged(increment: int) -> None:
    if increment < 0:
        raise PermissionError("only a privileged process may raise its priority")


def test_without_privileges_the_critical_path_keeps_the_normal_priority() -> None:
    [critical] = scheduling.CRITICAL_PATH
    follower = Follower()
    yielder = scheduling.Yielder(nice=unprivileged, follower=follower)  # type: ignore[arg-type]
    yielder.pytest_runtest_setup(Item("tests/integration/test_life.py::first", group=critical))
    assert yielder.level == 0 and follower.calls == [], "nothing changed, and the run goes on"
    yielder.pytest_runtest_setup(Item("tests/unit/test_a.py::one"))
    assert yielder.level == scheduling.NICENESS and follower.calls == [scheduling.NICENESS]


class Follower:
    def __init__(self) -> None:
        self.calls: list[int] = []

    def follow(self, niceness: int) -> None:
        self.calls.append(niceness)


def test_the_sessions_a_worker_starts_follow_its_priority() -> None:
    [critical] = scheduling.CRITICAL_PATH
    follower = Follower()
    yielder = scheduling.Yielder(nice=lambda increment: None, follower=follower)  # type: ignore[arg-type]
    yielder.pytest_runtest_setup(Item("tests/integration/test_life.py::first", group=critical))
    assert follower.calls == [-scheduling.BOOST]
    yielder.pytest_runtest_setup(Item("tests/unit/test_a.py::one"))
    yielder.pytest_runtest_setup(Item("tests/unit/test_a.py::two"))
    assert follower.calls == [-scheduling.BOOST, scheduling.NICENESS]


def test_only_xdist_workers_step_back(pytestconfig) -> None:
    """The plugin is registered on workers only: a run without xdist (or the controller) keeps its priority."""
    registered = pytestconfig.pluginmanager.get_plugin("aipx-critical-path-first")
    assert (registered is not None) == hasattr(pytestconfig, "workerinput")


def test_a_worker_that_stepped_back_steps_up_again_for_the_critical_path_where_allowed() -> None:
    [critical] = scheduling.CRITICAL_PATH
    calls: list[int] = []
    yielder = scheduling.Yielder(nice=calls.append)
    yielder.pytest_runtest_setup(Item("tests/unit/test_a.py::one"))
    yielder.pytest_runtest_setup(Item("tests/integration/test_life.py::first", group=critical))
    assert calls == [scheduling.NICENESS, -scheduling.NICENESS - scheduling.BOOST]

    yielder = scheduling.Yielder(nice=unprivileged)
    yielder.pytest_runtest_setup(Item("tests/unit/test_a.py::one"))
    yielder.pytest_runtest_setup(Item("tests/integration/test_life.py::first", group=critical))
    assert yielder.yielded, "stays stepped back, and the run goes on"


def test_workers_sort_their_collection_and_the_controller_records() -> None:
    worker = SimpleNamespace(workerinput={"workerid": "gw0"}, getoption=lambda name, default=None: "no")
    controller = SimpleNamespace(getoption=lambda name, default=None: "loadgroup")
    alone = SimpleNamespace(getoption=lambda name, default=None: "no")
    assert scheduling.is_worker(worker) and not scheduling.is_controller(worker)
    assert scheduling.is_controller(controller) and not scheduling.is_worker(controller)
    assert not scheduling.is_worker(alone) and not scheduling.is_controller(alone)


def test_every_worker_sorts_by_the_seconds_its_controller_read() -> None:
    controller = _config({"tests/unit/test_b.py": 20.0})
    recorder = scheduling.Recorder(controller)
    nodes = [SimpleNamespace(workerinput={"workerid": f"gw{n}"}) for n in range(2)]
    for node in nodes:
        recorder.pytest_configure_node(node)
    controller.cache.set(scheduling.CACHE_KEY, {"tests/unit/test_a.py": 99.0})  # another run rewrites the cache
    for node in nodes:
        worker = SimpleNamespace(workerinput=node.workerinput, cache=controller.cache)
        items = [Item("tests/unit/test_a.py::one"), Item("tests/unit/test_b.py::one")]
        scheduling.longest_first(worker, items)
        assert [item.nodeid for item in items] == ["tests/unit/test_b.py::one", "tests/unit/test_a.py::one"]
