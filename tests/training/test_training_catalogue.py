"""The drill catalogue, its notebooks and the `aipx-runbook train` command, without setting any scene."""

from __future__ import annotations

import papermill
import pytest

from aipx_runbook import cli, emulator, training
from aipx_runbook.errors import UsageError
from aipx_runbook.training import notebooks, progress
from paths import PROJECT_ROOT


@pytest.fixture
def own_workspace(workspace, tmp_path, monkeypatch):
    monkeypatch.setenv("AIPX_WORKSPACE", str(tmp_path))
    return tmp_path


def test_the_catalogue_covers_the_troubleshooting_table_and_the_operators_bad_days() -> None:
    rows = sorted(drill.row.split(".")[0] for drill in training.DRILLS if drill.row)
    assert rows == ["1", "2", "3", "4"]
    names = {drill.name for drill in training.DRILLS}
    assert {"stale-lock", "backend-drift", "state-restore"} <= names
    assert len(training.DRILLS) >= 6
    for drill in training.DRILLS:
        assert drill.goal and drill.teaches and drill.minutes > 0 and len(drill.hints) >= 2, drill.name
    assert [d.number for d in training.DRILLS] == sorted(d.number for d in training.DRILLS)


@pytest.mark.parametrize("drill", training.DRILLS, ids=lambda d: d.name)
def test_committed_notebook_is_the_one_the_registry_builds(drill) -> None:
    path = PROJECT_ROOT / drill.notebook
    assert path.read_text() == notebooks.text(drill), "run `python -m aipx_runbook.training.notebooks`"
    parameters = papermill.inspect_notebook(str(path))
    assert parameters["set_up"]["inferred_type_name"] == "bool"
    assert parameters["environment"]["default"] == '"dev"'
    text = path.read_text()
    assert text.count("<details>") == len(drill.hints), "each hint unfolds on request"
    assert "drill.check()" in text and "drill.set_scene(set_up)" in text


def test_train_lists_every_drill_with_goal_time_and_progress(own_workspace, capsys) -> None:
    assert cli.main(["train"]) == 0
    out = capsys.readouterr().out
    for drill in training.DRILLS:
        assert drill.name in out and drill.goal[:40] in out
    assert out.count("not started") == len(training.DRILLS)
    assert "0 of" in out
    assert not emulator.status().running, "listing the drills starts nothing"


def test_progress_shows_in_the_listing(own_workspace, capsys) -> None:
    progress.record_setup("stale-lock", "dev", {"lock_id": "x"})
    progress.record_check("stale-lock", False)
    progress.record_setup("backend-drift", "dev", {})
    progress.record_check("backend-drift", True)
    assert cli.main(["train"]) == 0
    out = capsys.readouterr().out
    assert "1 of" in out
    line = next(line for line in out.splitlines() if "stale-lock" in line)
    assert "not yet" in line
    assert "passed" in next(line for line in out.splitlines() if "backend-drift" in line)
    assert (own_workspace / ".aipx" / "training.json").exists()


def test_unknown_drill_is_bad_usage_listing_the_drills(own_workspace, capsys) -> None:
    assert cli.main(["train", "locks"]) == 2
    err = capsys.readouterr().err
    assert "unknown drill 'locks'; known: backend-missing" in err and "stale-lock" in err


def test_drill_found_by_number_and_notebook_stem() -> None:
    assert training.find("05").name == "stale-lock"
    assert training.find("05_stale_lock").name == "stale-lock"


@pytest.mark.parametrize("value", ["False", "false", 0, None])
def test_set_up_takes_only_a_real_bool(value) -> None:
    with pytest.raises(UsageError, match="set_up must be True or False"):
        training.open_drill("stale-lock").set_scene(value)


def test_check_without_a_running_emulator_says_to_set_up_again(own_workspace, capsys) -> None:
    assert cli.main(["train", "backend-drift", "--check"]) == 1
    out = capsys.readouterr().out
    assert "local emulator: not running" in out and "aipx-runbook train backend-drift" in out
    assert not emulator.status().running, "the check starts no empty emulator"
    assert progress.status("backend-drift") == "not yet"
