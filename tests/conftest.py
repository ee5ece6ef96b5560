"""Shared fixtures: an isolated workspace and a real moto server reached over HTTP."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import moto_api
import scheduling
from aipx_runbook import emulator
from aipx_runbook.aws import AwsTarget
from aipx_runbook.context import StageContext, start_stage
from paths import PROJECT_ROOT
from session_priority import SessionFollower

# Terraform and the AWS provider are Go programs: loading the provider's schema (every command does) spends about a
# fifth of their CPU in the garbage collector at Go's default GOGC=100. At 400 they collect less often and each
# command costs ~0.5 CPU-s less (terraform validate of the AIPX stack: 2.9 -> 2.4 CPU-s; peak RSS 340 -> 450 MB).
# Only the collector's pacing changes, not what Terraform does; a value set in the shell wins.
GO_GC_PERCENT = "400"


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("GOGC", GO_GC_PERCENT)  # read by every Terraform process the tests start
    if scheduling.is_controller(config):
        config.pluginmanager.register(scheduling.Recorder(config), "aipx-unit-seconds")
    if scheduling.is_worker(config):  # the critical path first (scheduling.Yielder)
        follower = SessionFollower(scheduling.NICENESS)
        config.pluginmanager.register(scheduling.Yielder(follower=follower), "aipx-critical-path-first")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if scheduling.is_worker(config):  # xdist's controller collects nothing: it schedules the workers' collection
        scheduling.longest_first(config, items)


@pytest.fixture(scope="session")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A workspace of its own for the whole session: runs/ and .aipx/ never touch the checkout's."""
    path = tmp_path_factory.mktemp("workspace")
    previous = {name: os.environ.get(name) for name in ("AIPX_WORKSPACE", "AIPX_PROJECT_ROOT")}
    os.environ["AIPX_WORKSPACE"] = str(path)
    os.environ["AIPX_PROJECT_ROOT"] = str(PROJECT_ROOT)
    yield path
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def moto_server(workspace: Path) -> Iterator[str]:
    """A real moto server process on 127.0.0.1, started through the library; yields its endpoint."""
    status = emulator.start()
    yield status.endpoint
    emulator.stop()


@pytest.fixture(scope="session")
def stage_context(moto_server: str) -> Callable[..., StageContext]:
    """Opens a stage the way its notebook's first cell does (``context.start_stage``: each parameter checked
    against its declared type, the stage begun in this process, the workspace's emulator reused), target local:
    ``stage_context("apply", run_dir=tmp_path, stack=path, auto_approve=True)``."""

    def opened(
        stage: str, environment: str = "dev", *, run_dir: Path, stack: str | Path = "smoke", **parameters: Any
    ) -> StageContext:
        return start_stage(stage, environment, target="local", stack=str(stack), run_dir=str(run_dir), **parameters)

    return opened


@pytest.fixture
def emulator_target(moto_server: str) -> AwsTarget:
    """Target 'local' in ap-northeast-2, pointing at the session's moto server."""
    return AwsTarget("local", "ap-northeast-2", moto_server)


@pytest.fixture
def reset_emulator(moto_server: str) -> Iterator[None]:
    """Empty the emulator before a test that needs a clean account."""
    moto_api.empty(moto_server)
    yield


@pytest.fixture(scope="session")
def terraform_bin() -> str:
    path = shutil.which("terraform")
    if path is None:
        pytest.fail("terraform is not on PATH: run `make test`, which installs the pinned release into .venv/bin")
    return path
