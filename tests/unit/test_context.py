"""Building a stage context does nothing on its own: no emulator, no folder; starting them is a step of its own."""

from __future__ import annotations

from aipx_runbook import emulator, timings
from aipx_runbook.context import open_stage
from aipx_runbook.errors import RunbookError


def test_opening_a_local_stage_starts_no_emulator_and_makes_no_folder(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("AIPX_WORKSPACE", str(tmp_path / "ws"))
    run_dir = tmp_path / "run"
    ctx = open_stage("plan", "dev", "local", run_dir=str(run_dir))
    shown = str(ctx)  # a notebook shows the context: that starts nothing either
    assert "local emulator (started at the first call)" in shown
    assert not run_dir.exists()
    assert not (tmp_path / "ws" / ".aipx" / "emulator.json").exists() and not emulator.status().running
    assert ctx.terraform_data_dir.name == "smoke-dev-local" and not ctx.terraform_data_dir.exists()


def test_begin_makes_the_run_folder_and_nothing_else(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("AIPX_WORKSPACE", str(tmp_path / "ws"))
    run_dir = tmp_path / "run"
    try:
        open_stage("plan", "dev", "aws", run_dir=str(run_dir)).begin()
        assert (run_dir / "stages" / "plan.timings.json").exists()
        assert not (tmp_path / "ws" / ".aipx" / "emulator.json").exists()
    finally:  # begin() makes this process the stage's: undone for the next test
        timings.record_to(None)
        RunbookError.on_render = None
