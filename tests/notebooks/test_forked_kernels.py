"""Kernels forked from the run's pre-imported process (kernel_zygote.py, forked_kernels.py) behave as kernels
started fresh by jupyter_client: same working directory, import path and signal handling, the environment of the
moment they are asked for (not the one the forking process started with), an interrupt stops the running cell,
a kill is seen with its exit code, and a command line that is not this interpreter's ipykernel starts fresh.
Real kernels over ZeroMQ; the comparison's control is a fresh kernel (AIPX_FORK_KERNELS=0) asked the same.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from kernel_processes import of_this_test_process

from aipx_runbook import forked_kernels, kernel_preload, kernels

pytestmark = pytest.mark.notebooks
LATE = "AIPX_TEST_SET_AFTER_THE_POOL_STARTED"
VIEW = f"""
import json, os, signal, sys
print(json.dumps({{
    "cwd": os.getcwd(),
    "path": [entry for entry in sys.path if "site-packages" not in entry],
    "late": os.environ.get("{LATE}"),
    "parent_is_runner": os.getppid() == {os.getpid()},
    "sigint_while_running": signal.getsignal(signal.SIGINT) is signal.default_int_handler,
    "argv0": os.path.basename(sys.argv[0]),
    "main": sys.modules["__main__"].__name__,
}}))
"""


def _run(client: Any, code: str, timeout: float = 60) -> tuple[str, dict[str, Any]]:
    """Execute ``code`` on a started (asynchronous) client; what it printed and its execute reply's content."""
    message_id = client.execute(code)
    printed = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = kernels._run_sync(client.get_iopub_msg)(timeout=timeout)
        if message["parent_header"].get("msg_id") != message_id:
            continue
        if message["msg_type"] == "stream":
            printed.append(message["content"]["text"])
        if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
            break
    reply = kernels._run_sync(client.get_shell_msg)(timeout=timeout)
    return "".join(printed), reply["content"]


def _view(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fork: bool) -> dict[str, Any]:
    monkeypatch.setenv("AIPX_FORK_KERNELS", "1" if fork else "0")
    monkeypatch.delenv(LATE, raising=False)
    with kernels.KernelPool(tmp_path, ["one", "two"], ahead=2) as pool:
        pool.start_first()
        monkeypatch.setenv(LATE, "set")  # after the forking process started: the kernel must still see it
        pool.take()  # the first kernel, asked for at the pool's start
        manager = pool.take()  # asked for with the variable set
        printed, _ = _run(pool.client(manager), VIEW)
        view = json.loads(printed)
        view["how"] = [process.kind for process in of_this_test_process() if process.pid == pool.kernel_pid(manager)]
    return view


def test_a_forked_kernel_sees_what_a_fresh_kernel_sees(tmp_path, monkeypatch) -> None:
    forked, fresh = _view(tmp_path, monkeypatch, True), _view(tmp_path, monkeypatch, False)
    assert forked.pop("how") == ["forked"] and fresh.pop("how") == ["fresh"]
    assert forked.pop("parent_is_runner") is False and fresh.pop("parent_is_runner") is True
    assert forked == fresh
    assert forked["late"] == "set" and forked["cwd"] == str(tmp_path)
    assert of_this_test_process() == []


def test_an_interrupt_stops_the_cell_of_a_forked_kernel(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("AIPX_FORK_KERNELS", "1")
    with kernels.KernelPool(tmp_path, ["one"], ahead=1) as pool:
        pool.start_first()
        manager = pool.take()
        client = pool.client(manager)
        message_id = client.execute("import time; time.sleep(60)")
        time.sleep(1)
        kernels._run_sync(manager.interrupt_kernel)()
        reply = kernels._run_sync(client.get_shell_msg)(timeout=20)
        assert reply["parent_header"]["msg_id"] == message_id
        assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "KeyboardInterrupt"
        printed, _ = _run(client, "print('still here')")
        assert printed == "still here\n"


def test_a_killed_forked_kernel_is_seen_dead_with_its_exit_code(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("AIPX_FORK_KERNELS", "1")
    with kernels.KernelPool(tmp_path, ["one"], ahead=1) as pool:
        pool.start_first()
        manager = pool.take()
        process = manager.provisioner.process
        assert isinstance(process, forked_kernels.ForkedProcess)
        assert kernels._run_sync(manager.is_alive)()
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=20) == -signal.SIGKILL
        assert not kernels._run_sync(manager.is_alive)()
    assert of_this_test_process() == []


def test_without_its_forking_process_the_pool_starts_fresh_kernels(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("AIPX_FORK_KERNELS", "1")
    with kernels.KernelPool(tmp_path, ["one"], ahead=1) as pool:
        pool._zygote = zygote = forked_kernels.Zygote(str(tmp_path), [], [])
        with pytest.raises(forked_kernels.ForkRefused, match="not an ipykernel command line"):
            zygote.ask([sys.executable, "-c", "pass"], str(tmp_path), dict(os.environ)).pid()
        zygote.process.kill()
        zygote.process.wait()
        manager = pool.take()
        kinds = {process.pid: process.kind for process in of_this_test_process()}
        assert kinds[pool.kernel_pid(manager)] == "fresh"
        printed, _ = _run(pool.client(manager), "print(6 * 7)")
        assert printed == "42\n"
    assert of_this_test_process() == []


def test_the_forking_process_imports_the_first_stages_sdk_first_and_the_rest_only_for_later_stages() -> None:
    first, later = kernel_preload.imported_ahead(["prerequisites", "backend", "plan"])
    assert first == ["boto3", "botocore.client", "aws:sts"]
    assert later == ["aws:s3", "aws:dynamodb", *kernel_preload.CHARTS, "hcl2"]
    # a run of stage 03 alone: its kernel loads the HCL parser and the chart template itself, beside its first cells
    assert kernel_preload.imported_ahead(["plan"]) == ([], [])
