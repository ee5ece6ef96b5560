"""Kernels started ahead: each stage still runs in a fresh kernel process of its own, the executed notebooks
are the same as with kernels started cold, and no kernel outlives the run, also when a stage fails."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import nbformat
import pytest

from aipx_runbook import config, emulator, runbook
from aipx_runbook.errors import EmulatorError
from kernel_processes import of_this_test_process

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("warm_kernels")]
STAGES = ["prerequisites", "backend", "init", "plan"]


def _structure(notebook: Path) -> list[tuple[Any, ...]]:
    """What a stage's executed notebook holds, without the values that differ from run to run."""
    cells = []
    for cell in nbformat.read(notebook, as_version=4).cells:
        injected = "injected-parameters" in cell.metadata.get("tags", [])
        outputs = [
            (output.output_type, tuple(sorted(output.get("data", {}))), output.get("name", ""))
            for output in cell.get("outputs", [])
        ]
        source = "" if injected else cell.source
        cells.append((cell.cell_type, source, cell.get("execution_count"), tuple(outputs)))
    return cells


def _run(monkeypatch: pytest.MonkeyPatch, warm: bool, stages: list[str]) -> runbook.RunResult:
    monkeypatch.setenv("AIPX_WARM_KERNELS", "2" if warm else "0")
    return runbook.run("dev", "local", "smoke", stages, keep_emulator=True)


def test_each_stage_runs_in_a_fresh_kernel_started_ahead_and_records_the_same_notebook(
    moto_server: str, reset_emulator: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    warm = _run(monkeypatch, True, STAGES)
    assert warm.ok, warm.failed
    pids = [stage.timings["kernel_pid"] for stage in warm.stages]
    assert len(set(pids)) == len(STAGES) and os.getpid() not in pids
    # The library was imported ahead of each stage, once for the run, in the process each kernel was forked from.
    assert all(stage.timings["ahead"]["imports"] > 0 for stage in warm.stages)
    assert [stage.timings["kernel"] for stage in warm.stages] == ["forked"] * len(STAGES)
    assert {"kernel start", "terraform", "other"} <= set(warm.stages[2].timings["seconds"])
    assert all((warm.run_dir / Path(s.notebook).with_suffix(".html").name).exists() for s in warm.stages)
    assert of_this_test_process() == []

    cold = _run(monkeypatch, False, STAGES)
    assert cold.ok, cold.failed
    assert [stage.timings["kernel"] for stage in cold.stages] == ["fresh"] * len(STAGES)
    for warm_stage, cold_stage in zip(warm.stages, cold.stages, strict=True):
        assert _structure(warm.run_dir / warm_stage.notebook) == _structure(cold.run_dir / cold_stage.notebook)
    assert of_this_test_process() == []


def test_a_failing_stage_ends_the_kernels_started_for_the_next_ones(
    moto_server: str, reset_emulator: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No saved plan: apply fails, and the kernels started ahead for verify and destroy never run anything.
    result = _run(monkeypatch, True, ["apply", "verify", "destroy"])
    assert [stage.status for stage in result.stages] == ["failed"]
    assert "no saved plan" in result.stages[0].error
    assert of_this_test_process() == []


def _started(pid: int) -> int:
    """When a process started, in clock ticks since boot (field 22 of /proc/<pid>/stat)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])


def test_the_first_kernel_boots_while_the_runner_starts_the_emulator(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A workspace of its own, where no emulator runs yet: the run starts one.
    monkeypatch.setenv("AIPX_WORKSPACE", str(tmp_path))
    seen: dict[str, int] = {}

    def first_stage_starts(stage: runbook.Stage) -> None:
        if not seen:
            # only the first stage's kernel has started so far, forked from the process started for that
            booting = of_this_test_process()
            assert sorted(process.kind for process in booting) in (["forked", "zygote"], ["zygote"]), booting
            seen.update(kernel=min(map(_started, (p.pid for p in booting))), emulator=_started(emulator.status().pid))

    monkeypatch.setenv("AIPX_WARM_KERNELS", "2")
    result = runbook.run("dev", "local", "smoke", ["prerequisites"], on_start=first_stage_starts)
    assert result.ok, result.failed
    # The emulator's start waits until it answers, so a kernel started after it would start later.
    assert seen["kernel"] <= seen["emulator"], seen
    assert of_this_test_process() == []
    assert not emulator.status().running


def test_a_kernel_booting_while_the_emulator_fails_to_start_is_ended(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIPX_WORKSPACE", str(tmp_path))
    (config.state_dir() / "emulator.json").write_text('{"not": "an emulator record"}')
    monkeypatch.setenv("AIPX_WARM_KERNELS", "2")
    with pytest.raises(EmulatorError, match="corrupt"):
        runbook.run("dev", "local", "smoke", ["prerequisites", "backend"])
    assert of_this_test_process() == []
