"""Fixtures of the training drills' tests: one workspace and one emulator per test module."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from aipx_runbook import emulator


@pytest.fixture(scope="module")
def training_workspace(workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A workspace of the module's own with its own emulator, started through the library; drills reset it."""
    path = tmp_path_factory.mktemp("training")
    previous = os.environ["AIPX_WORKSPACE"]
    os.environ["AIPX_WORKSPACE"] = str(path)
    try:
        emulator.start()
        yield path
    finally:
        emulator.stop()
        os.environ["AIPX_WORKSPACE"] = previous
