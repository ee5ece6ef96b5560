"""The runner's render queue: nbconvert is prepared once the first stage starts (``start``), not as the queue is
made, every notebook handed in is rendered before ``wait`` returns, and a failed render is raised there."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from aipx_runbook.render_queue import RenderQueue


def test_prepare_waits_for_start_and_runs_once_before_the_renders(tmp_path: Path) -> None:
    events: list[str] = []
    prepared = threading.Event()

    def prepare() -> None:
        events.append("prepare")
        prepared.set()

    queue = RenderQueue(lambda path: events.append(path.name), prepare=prepare)
    assert not prepared.wait(0.2) and events == []
    queue.start()
    queue.start()
    seconds: list[float] = []
    queue.submit(tmp_path / "00.ipynb", seconds.append)
    queue.submit(tmp_path / "01.ipynb", seconds.append)
    queue.wait()
    assert events == ["prepare", "00.ipynb", "01.ipynb"] and len(seconds) == 2


def test_a_submit_without_start_still_prepares_first_and_a_failed_render_is_raised_by_wait(tmp_path: Path) -> None:
    events: list[str] = []

    def render(path: Path) -> None:
        if path.name == "bad.ipynb":
            raise ValueError("cannot render")
        events.append(path.name)

    queue = RenderQueue(render, prepare=lambda: events.append("prepare"))
    queue.submit(tmp_path / "bad.ipynb", lambda _: None)
    queue.submit(tmp_path / "good.ipynb", lambda _: None)
    with pytest.raises(ValueError, match="cannot render"):
        queue.wait()
    assert events == ["prepare", "good.ipynb"]
