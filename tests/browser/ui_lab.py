"""JupyterLab from the project's .venv on 127.0.0.1, and an operator driving it in Debian's Chromium.

The browser is the machine's own Chromium (``/usr/bin/chromium``, or AIPX_CHROMIUM) driven by Playwright through
``executable_path``: Playwright's own browser download cannot be fetched here, and is not needed.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

if str(Path(__file__).resolve().parents[1]) not in sys.path:  # run as a script: tests/ for `paths`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from paths import PROJECT_ROOT  # noqa: E402

BIN = Path(sys.executable).parent
CHROMIUM_ARGS = [
    "--no-sandbox",  # the tests run as root in CI
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    return os.environ.get("AIPX_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def why_no_browser() -> str:
    """Why the browser tests cannot run here, or '' when they can."""
    if not Path(chromium_path()).exists():
        return f"no Chromium at {chromium_path()} (Debian: apt-get install chromium; or set AIPX_CHROMIUM)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -e '.[test]')"
    return ""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class JupyterLab:
    """A JupyterLab server of its own: a copy of the notebooks in a fresh workspace, a token, a free port."""

    def __init__(self, workspace: Path) -> None:
        self.workspace = workspace
        self.root = workspace / "lab"
        shutil.copytree(PROJECT_ROOT / "notebooks", self.root / "notebooks")
        self.token = secrets.token_hex(16)
        self.port = _free_port()
        self.env = {
            **os.environ,
            "AIPX_WORKSPACE": str(workspace),
            "AIPX_PROJECT_ROOT": str(PROJECT_ROOT),
            "JUPYTER_CONFIG_DIR": str(workspace / "jupyter" / "config"),
            "JUPYTER_DATA_DIR": str(workspace / "jupyter" / "data"),
            "JUPYTER_RUNTIME_DIR": str(workspace / "jupyter" / "runtime"),
            "JUPYTERLAB_WORKSPACES_DIR": str(workspace / "jupyter" / "workspaces"),
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        self.env.pop("AIPX_HEADLESS", None)
        self.log = workspace / "jupyterlab.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [
            str(BIN / "jupyter"),
            "lab",
            "--no-browser",
            "--allow-root",  # CI runs as root
            "--ip=127.0.0.1",
            f"--port={self.port}",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + 120
        while True:
            try:
                self.api("GET", "/api/status")
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"JupyterLab did not start: {self.log.read_text()[-2000:]}") from None
                time.sleep(0.5)

    def api(self, method: str, path: str) -> object:
        request = urllib.request.Request(
            self.url + path, method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def sessions_for(self, notebook: str) -> list[dict]:
        sessions = self.api("GET", "/api/sessions")
        return [s for s in sessions if s.get("path", "").endswith(notebook)]  # type: ignore[union-attr]

    def shutdown_kernels(self) -> None:
        for session in self.api("GET", "/api/sessions"):  # type: ignore[union-attr]
            self.api("DELETE", f"/api/sessions/{session['id']}")

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(OSError):
            self.shutdown_kernels()
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def python(self, code: str) -> str:
        """Runs Python in this workspace (its emulator, its runs) and returns what it printed."""
        done = subprocess.run(
            [sys.executable, "-c", code], env=self.env, capture_output=True, text=True, timeout=120, check=True
        )
        return done.stdout


if __name__ == "__main__":
    # `make test` and `make test-ui` say up front whether the browser tests run here, and why not.
    if "--explain" in sys.argv:
        reason = why_no_browser()
        print(f"browser tests: SKIPPED, {reason}" if reason else f"browser tests: run with {chromium_path()}")
