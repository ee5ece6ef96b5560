"""Shared fixtures: an isolated workspace and a real moto server reached over HTTP."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from aipx_runbook import emulator
from aipx_runbook.aws import AwsTarget
from paths import PROJECT_ROOT


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


@pytest.fixture
def emulator_target(moto_server: str) -> AwsTarget:
    """Target 'local' in ap-northeast-2, pointing at the session's moto server."""
    return AwsTarget("local", "ap-northeast-2", moto_server)


@pytest.fixture
def reset_emulator(moto_server: str) -> Iterator[None]:
    """Empty the emulator before a test that needs a clean account."""
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(moto_server + "/moto-api/reset", method="POST")).close()
    yield


@pytest.fixture(scope="session")
def terraform_bin() -> str:
    path = shutil.which("terraform")
    if path is None:
        pytest.fail("terraform is not on PATH: run `make test`, which installs the pinned release into .venv/bin")
    return path
