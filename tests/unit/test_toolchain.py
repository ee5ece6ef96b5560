"""The Terraform bootstrap against a local HTTP server laid out like HashiCorp's release site.

The served archive is release-shaped (a zip holding a `terraform` executable) but its binary is a
stand-in script: the real release site cannot be reached from here.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from aipx_runbook import toolchain
from aipx_runbook.errors import PrerequisiteError

VERSION = "1.11.4"
STAND_IN = '#!/bin/sh\necho \'{"terraform_version": "%s", "platform": "linux_amd64"}\'\n'


def _release(root: Path, version: str, reported_version: str, checksum_override: str | None = None) -> None:
    folder = root / version
    folder.mkdir(parents=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr("terraform", STAND_IN % reported_version)
    archive_name = f"terraform_{version}_{toolchain.platform_name()}.zip"
    (folder / archive_name).write_bytes(buffer.getvalue())
    checksum = checksum_override or hashlib.sha256(buffer.getvalue()).hexdigest()
    (folder / f"terraform_{version}_SHA256SUMS").write_text(
        f"{'0' * 64}  terraform_{version}_other_arch.zip\n{checksum}  {archive_name}\n"
    )


@pytest.fixture
def release_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "releases"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()


def _old_terraform(folder: Path, version: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    binary = folder / "terraform"
    binary.write_text(STAND_IN % version)
    binary.chmod(0o755)


def test_missing_terraform_is_fetched_and_verified(release_server, tmp_path, monkeypatch) -> None:
    url, root = release_server
    _release(root, VERSION, VERSION)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    message = toolchain.ensure(tmp_path / "bin", url)
    assert "terraform is not on PATH" in message and "checksum verified" in message
    installed = tmp_path / "bin" / "terraform"
    assert installed.exists() and installed.stat().st_mode & 0o111


def test_too_old_terraform_is_replaced_by_the_pinned_release(release_server, tmp_path, monkeypatch) -> None:
    url, root = release_server
    _release(root, VERSION, VERSION)
    _old_terraform(tmp_path / "old", "1.4.0")
    monkeypatch.setenv("PATH", f"{tmp_path / 'old'}:/usr/bin:/bin")
    message = toolchain.ensure(tmp_path / "bin", url)
    assert "1.4.0" in message and "aipx needs >= 1.5.0" in message
    assert (tmp_path / "bin" / "terraform").exists()


def test_recent_enough_terraform_is_kept(release_server, tmp_path, monkeypatch) -> None:
    url, _ = release_server
    _old_terraform(tmp_path / "new", "1.9.0")
    monkeypatch.setenv("PATH", f"{tmp_path / 'new'}:/usr/bin:/bin")
    assert toolchain.ensure(tmp_path / "bin", url).startswith("terraform 1.9.0 at")
    assert not (tmp_path / "bin").exists()


def test_wrong_checksum_is_refused_and_nothing_installed(release_server, tmp_path, monkeypatch) -> None:
    url, root = release_server
    _release(root, VERSION, VERSION, checksum_override="f" * 64)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    with pytest.raises(PrerequisiteError) as caught:
        toolchain.ensure(tmp_path / "bin", url)
    assert "does not match the published" in caught.value.why
    assert not (tmp_path / "bin" / "terraform").exists()


def test_unreachable_release_site_names_the_version_and_how_to_install(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    with pytest.raises(PrerequisiteError) as caught:
        toolchain.ensure(tmp_path / "bin", "http://127.0.0.1:9")
    assert f"Terraform {VERSION}" in caught.value.fix
    for way in ("brew install hashicorp/tap/terraform", "apt.releases.hashicorp.com", "conda-forge"):
        assert way in caught.value.fix


def test_cli_reports_failure_with_exit_code_1(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert toolchain.main(["ensure", "--into", str(tmp_path), "--releases-url", "http://127.0.0.1:9"]) == 1
    assert "FAILED  download Terraform" in capsys.readouterr().err
