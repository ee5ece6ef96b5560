"""The shared emulator and the shell: each test runs the real CLI (or the library) in a workspace of its own.

- The shell's AWS_* and proxy settings never reach target local: stages 00 to 02 pass with a profile that does
  not exist, fake keys and session token, and an HTTP proxy that refuses everything, and the moto process's own
  environment holds none of them.
- Two runs at once in one workspace: the one that ends first leaves the emulator to the other.
- An emulator restarted between stages is named as such; a corrupt emulator.json gets a clear message.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aipx_runbook import emulator, stages
from aipx_runbook.context import open_stage
from aipx_runbook.errors import EmulatorError
from paths import PROJECT_ROOT

pytestmark = pytest.mark.integration
CLI = [sys.executable, "-m", "aipx_runbook.cli"]
FAKE_SECRET = "fake-secret-from-the-shell-0123456789"
FAKE_TOKEN = "fake-session-token-from-the-shell"


def _env(workspace: Path, **extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env.update(AIPX_WORKSPACE=str(workspace), AIPX_PROJECT_ROOT=str(PROJECT_ROOT), **extra)
    return env


def _cli(env: dict[str, str], *args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def own_workspace(tmp_path, monkeypatch):
    """A workspace with its own emulator (stopped at the end), for tests that start, stop or corrupt it."""
    folder = tmp_path / "ws"
    folder.mkdir()
    monkeypatch.setenv("AIPX_WORKSPACE", str(folder))
    yield folder
    with_env = _env(folder)
    subprocess.run([*CLI, "emulator", "stop"], env=with_env, capture_output=True, timeout=60)


def test_the_shell_aws_settings_and_proxy_never_reach_target_local(own_workspace) -> None:
    env = _env(
        own_workspace,
        AWS_PROFILE="doesnotexist",
        AWS_ACCESS_KEY_ID="AKIAFAKEFROMTHESHELL",
        AWS_SECRET_ACCESS_KEY=FAKE_SECRET,
        AWS_SESSION_TOKEN=FAKE_TOKEN,
        AWS_CONFIG_FILE=str(own_workspace / "no-such-config"),
        HTTP_PROXY="http://127.0.0.1:9",
        HTTPS_PROXY="http://127.0.0.1:9",
        http_proxy="http://127.0.0.1:9",
    )
    env.pop("NO_PROXY", None)
    env.pop("no_proxy", None)
    result = _cli(env, "run", "--env", "dev", "--stages", "00,01,02", "--keep-emulator")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    recorded = json.loads((own_workspace / ".aipx" / "emulator.json").read_text())
    environ = Path(f"/proc/{recorded['pid']}/environ").read_bytes().split(b"\0")
    names = {item.split(b"=", 1)[0].decode() for item in environ if item}
    assert "AWS_PROFILE" not in names and "AWS_SESSION_TOKEN" not in names
    assert not any(FAKE_SECRET.encode() in item or FAKE_TOKEN.encode() in item for item in environ)
    assert b"AWS_ACCESS_KEY_ID=testing" in environ
    assert any(item.startswith(b"NO_PROXY=") and b"127.0.0.1" in item for item in environ)


def test_two_runs_at_once_share_the_emulator_and_the_last_one_stops_it(own_workspace) -> None:
    env = _env(own_workspace)
    # The longer run is the whole dev run with each kernel started cold, the shorter one stage 00 alone, started
    # as soon as the longer run's emulator answers: the longer one then has six stages still to go.
    longer = subprocess.Popen(
        [*CLI, "run", "--env", "dev", "-p", "auto_approve=True", "-p", "confirm=dev"],
        env={**env, "AIPX_WARM_KERNELS": "0"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300  # a bound for a loaded machine, not a measure
    while not emulator.status().running and longer.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    shorter = _cli(env, "run", "--env", "staging", "--stages", "00")
    still_running = longer.poll() is None
    out, err = longer.communicate(timeout=600)
    assert shorter.returncode == 0, shorter.stdout + shorter.stderr
    assert still_running, "the shorter run must end while the longer one still works"
    assert longer.returncode == 0, out + err
    assert "Could not connect" not in out + err
    status = _cli(env, "emulator", "status")
    assert status.stdout.strip() == "not running", "the last run out stops the emulator a run started"


def test_an_emulator_restarted_between_stages_is_named(own_workspace, tmp_path) -> None:
    run_dir = str(tmp_path / "run")
    stages.backend_setup(open_stage("backend", "dev", run_dir=run_dir))
    stages.init(open_stage("init", "dev", run_dir=run_dir))
    emulator.stop()
    emulator.start()
    plan = open_stage("plan", "dev", run_dir=run_dir)  # building a context starts nothing and checks nothing
    with pytest.raises(EmulatorError) as caught:
        plan.ensure_emulator()
    assert "the emulator was restarted, its buckets and state are gone" in caught.value.why
    assert caught.value.fix.startswith("rerun from stage 01")
    with pytest.raises(EmulatorError):
        stages.start("plan", "dev", run_dir=run_dir)  # a notebook's first cell
    assert stages.start("backend", "dev", run_dir=run_dir).stage == "backend", "stage 01 starts afresh"


def test_a_corrupt_emulator_record_gets_a_clear_message(own_workspace) -> None:
    store = own_workspace / ".aipx"
    store.mkdir()
    (store / "emulator.json").write_text('{"pid": 12, "endpoint": ')
    for args in (("emulator", "status"), ("run", "--env", "dev", "--stages", "00")):
        result = _cli(_env(own_workspace), *args)
        assert result.returncode == 1, result.stdout + result.stderr
        assert "Traceback" not in result.stderr
        assert f"{store / 'emulator.json'} is corrupt" in result.stderr
        assert "delete" in result.stderr
