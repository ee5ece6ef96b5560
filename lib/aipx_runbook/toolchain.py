"""Make sure a Terraform that satisfies every stack is on PATH; fetch the pinned release if not.

``python -m aipx_runbook.toolchain ensure --into .venv/bin`` is what ``make`` runs. The release archive
is verified against HashiCorp's published SHA256SUMS before anything is unpacked.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import platform
import shutil
import sys
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from . import config, versions
from .errors import PrerequisiteError

PINNED_VERSION = "1.11.4"
# How to install Terraform, per operating system, as the stack's README lists it: the one text that the
# prerequisites check, the runner (no terraform on PATH, or too old) and the fetcher below give.
INSTALL_WAYS = {
    "Darwin": "macOS: `brew tap hashicorp/tap && brew install hashicorp/tap/terraform`",
    "Linux": "Linux (Ubuntu/Debian): add HashiCorp's apt repository (apt.releases.hashicorp.com, keyring "
    "/usr/share/keyrings/hashicorp-archive-keyring.gpg), then `sudo apt update && sudo apt install terraform`",
    "Windows": "Windows: `choco install terraform`",
}
ANY_SYSTEM = "any system: `conda install -c conda-forge terraform`, or `make terraform` to fetch the pinned release"
RELEASES_URL = "https://releases.hashicorp.com/terraform"
DOWNLOAD_TIMEOUT_SECONDS = 60


def install_help() -> str:
    """Every way to install Terraform, this machine's system first."""
    here = platform.system()
    ordered = sorted(INSTALL_WAYS, key=lambda system: system != here)
    return " | ".join([*(INSTALL_WAYS[system] for system in ordered), ANY_SYSTEM])


def required_constraints() -> dict[str, str]:
    """Each stack's required_version, by stack name."""
    result = {}
    for name, relative in config.STACKS.items():
        constraint = versions.required_version(config.project_root() / relative)
        if constraint:
            result[name] = constraint
    return result


def unsatisfied(version: versions.Version) -> list[str]:
    return [f"{name} needs {c}" for name, c in required_constraints().items() if not versions.satisfies(version, c)]


def platform_name() -> str:
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    return f"{sys.platform.replace('win32', 'windows')}_{arch}"


def _download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response:
        return response.read()


def fetch(version: str, destination: Path, base_url: str = RELEASES_URL) -> Path:
    """Download terraform <version> for this platform, verify its SHA-256, install it into destination."""
    archive_name = f"terraform_{version}_{platform_name()}.zip"
    sums_url = f"{base_url}/{version}/terraform_{version}_SHA256SUMS"
    try:
        sums = _download(sums_url).decode()
        archive = _download(f"{base_url}/{version}/{archive_name}")
    except (urllib.error.URLError, OSError) as error:
        raise PrerequisiteError(
            f"download Terraform {version}",
            f"{base_url} cannot be reached ({error})",
            f"install Terraform {version} yourself — {install_help()}",
        ) from error
    expected = next((line.split()[0] for line in sums.splitlines() if line.endswith(" " + archive_name)), None)
    if expected is None:
        raise PrerequisiteError(
            f"verify Terraform {version}",
            f"{archive_name} is not listed in {sums_url}",
            f"check that Terraform {version} is published for {platform_name()}; {install_help()}",
        )
    actual = hashlib.sha256(archive).hexdigest()
    if actual != expected:
        raise PrerequisiteError(
            f"verify Terraform {version}",
            f"the archive's SHA-256 {actual} does not match the published {expected}; nothing was installed",
            "retry later (a damaged or tampered download); if it persists, install Terraform by hand: "
            + install_help(),
        )
    destination.mkdir(parents=True, exist_ok=True)
    binary_name = "terraform.exe" if sys.platform == "win32" else "terraform"
    with zipfile.ZipFile(io.BytesIO(archive)) as bundle:
        payload = bundle.read(binary_name)
    partial = destination / f".{binary_name}.partial"
    partial.write_bytes(payload)
    partial.chmod(0o755)
    target = destination / binary_name
    os.replace(partial, target)
    return target


def ensure(destination: Path, base_url: str = RELEASES_URL, version: str = PINNED_VERSION) -> str:
    """A one-line account of the Terraform in use, fetching the pinned release when needed."""
    found = shutil.which("terraform")
    if found:
        installed = versions.installed_version(found)
        missing = unsatisfied(installed)
        if not missing:
            return f"terraform {versions.format_version(installed)} at {found}"
        reason = f"terraform {versions.format_version(installed)} at {found} is too old: {'; '.join(missing)}"
    else:
        reason = "terraform is not on PATH"
    installed_path = fetch(version, destination, base_url)
    return f"{reason}; installed the pinned Terraform {version} (checksum verified) at {installed_path}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("ensure",))
    parser.add_argument("--into", type=Path, required=True, help="folder for the fetched binary, e.g. .venv/bin")
    parser.add_argument("--releases-url", default=os.environ.get("AIPX_TERRAFORM_RELEASES_URL", RELEASES_URL))
    args = parser.parse_args(argv)
    try:
        print(ensure(args.into, args.releases_url))
    except PrerequisiteError as error:
        print(error.describe(), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
