"""How tests/terraform_mirror.py chooses a provider mirror, on mirror directories laid out as Terraform reads them."""

from __future__ import annotations

from pathlib import Path

import pytest

import terraform_mirror
from terraform_mirror import find_mirror, required_providers, select_versions

pytestmark = pytest.mark.static

AWS = "registry.terraform.io/hashicorp/aws"
ARCHIVE = "registry.terraform.io/hashicorp/archive"


def _unpacked(mirror: Path, address: str, version: str, platform: str) -> None:
    directory = mirror / address / version / platform
    directory.mkdir(parents=True)
    (directory / f"terraform-provider-{address.rsplit('/', 1)[1]}_v{version}_x5").write_bytes(b"")


def _packed(mirror: Path, address: str, version: str, platform: str) -> None:
    directory = mirror / address
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"terraform-provider-{address.rsplit('/', 1)[1]}_{version}_{platform}.zip").write_bytes(b"")


def test_the_aipx_stack_requires_only_hashicorp_aws_in_the_root_and_its_modules() -> None:
    assert required_providers(terraform_mirror.AIPX_STACK) == {AWS: [">= 5.70", "~> 5.70"]}  # modules/ first


def test_the_newest_version_the_constraints_admit_is_chosen_and_gaps_are_named(tmp_path: Path) -> None:
    _unpacked(tmp_path, AWS, "5.80.0", "linux_amd64")
    _packed(tmp_path, AWS, "5.100.0", "linux_amd64")
    _unpacked(tmp_path, AWS, "6.0.0", "linux_amd64")
    _unpacked(tmp_path, AWS, "5.101.0", "darwin_arm64")
    _packed(tmp_path, ARCHIVE, "2.4.0", "darwin_arm64")
    required = {AWS: ["~> 5.70", ">= 5.70"], ARCHIVE: ["~> 2.4"]}
    selected, gaps = select_versions(tmp_path, required, "linux_amd64")
    assert selected == {AWS: (5, 100, 0)}
    assert gaps == [f"lacks {ARCHIVE} ~> 2.4 for linux_amd64 (has none)"]


def test_the_configured_mirror_comes_first_and_rejections_say_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    known, configured = tmp_path / "known", tmp_path / "configured"
    _unpacked(known, AWS, "5.100.0", "linux_amd64")
    _unpacked(configured, AWS, "5.90.0", "linux_amd64")
    monkeypatch.setattr(terraform_mirror, "KNOWN_MIRRORS", (tmp_path / "absent", known))
    required = {AWS: ["~> 5.70"]}

    monkeypatch.setenv(terraform_mirror.MIRROR_VARIABLE, str(configured))
    assert find_mirror(required, "linux_amd64") == (configured, {AWS: (5, 90, 0)}, [])

    monkeypatch.setenv(terraform_mirror.MIRROR_VARIABLE, str(tmp_path / "typo"))
    mirror, selected, rejected = find_mirror({AWS: ["~> 6.0"]}, "linux_amd64")
    assert (mirror, selected) == (None, {})
    assert rejected == [
        f"{terraform_mirror.MIRROR_VARIABLE}={tmp_path / 'typo'} is not a directory",
        f"{known} lacks {AWS} ~> 6.0 for linux_amd64 (has 5.100.0)",
    ]
