"""How the tests' Terraform processes get the providers a stack requires: a filesystem mirror, else the registry.

Build machines often cannot reach registry.terraform.io. A filesystem mirror (made with
`terraform providers mirror DIR`, or shipped in a machine image) can supply the providers instead: this module
finds one holding every provider the stack requires, in a version its constraints admit, and writes a Terraform
CLI configuration that installs those providers from it only. Without a usable mirror it falls back to the
registry, and when that is unreachable too the fixture skips, naming every place it looked and why each failed.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import hcl2
import pytest

from aipx_runbook import versions
from aipx_runbook.toolchain import platform_name
from paths import PROJECT_ROOT

AIPX_STACK = PROJECT_ROOT / "terraform" / "aws"
MIRROR_VARIABLE = "AIPX_TF_PROVIDER_MIRROR"
# Where machine images and Terraform's own conventions put provider directories.
KNOWN_MIRRORS = (
    Path("/opt/tf-plugins"),
    Path("/usr/local/share/terraform/plugins"),
    Path("/usr/share/terraform/plugins"),
    Path.home() / ".local" / "share" / "terraform" / "plugins",
    Path.home() / ".terraform.d" / "plugins",
)
DEFAULT_REGISTRY = "registry.terraform.io"
REGISTRY_PROBE = "https://registry.terraform.io/.well-known/terraform.json"
REGISTRY_TIMEOUT_SECONDS = 5
PACKED_NAME = re.compile(r"terraform-provider-[^_]+_(?P<version>[0-9][^_]*)_(?P<platform>[a-z0-9]+_[a-z0-9]+)\.zip")


class ProvidersUnavailable(Exception):
    """Neither a mirror nor the registry can supply the stack's providers; the message says why."""


@dataclass(frozen=True)
class ProviderInstallation:
    """What a Terraform process needs in its environment to install the providers, and where they come from."""

    environment: dict[str, str]
    source: str


def required_providers(stack: Path) -> dict[str, list[str]]:
    """Every provider the root module and its local modules require: source address -> version constraints."""
    required: dict[str, list[str]] = {}
    for path in sorted(p for p in stack.rglob("*.tf") if ".terraform" not in p.parts):
        with path.open() as handle:
            document = hcl2.load(handle)
        for block in document.get("terraform", []):
            for providers in block.get("required_providers", []):
                for name, spec in providers.items():
                    if name.startswith("__"):  # python-hcl2's block marker
                        continue
                    source = str(spec.get("source", f"hashicorp/{name}")).strip('"')
                    address = source if source.count("/") == 2 else f"{DEFAULT_REGISTRY}/{source}"
                    constraints = required.setdefault(address, [])
                    if spec.get("version"):
                        constraints.append(str(spec["version"]).strip('"'))
    return required


def mirrored_versions(mirror: Path, address: str, platform: str) -> list[versions.Version]:
    """Versions of one provider a mirror holds for a platform, in the unpacked or the packed layout."""
    provider_dir = mirror / address
    if not provider_dir.is_dir():
        return []
    found = set()
    for entry in provider_dir.iterdir():
        unpacked = entry / platform
        if unpacked.is_dir() and any(unpacked.glob("terraform-provider-*")):
            found.add(entry.name)
        packed = PACKED_NAME.fullmatch(entry.name)
        if packed and packed["platform"] == platform:
            found.add(packed["version"])
    return sorted(versions.parse_version(text) for text in found if re.fullmatch(r"\d+\.\d+\.\d+", text))


def select_versions(
    mirror: Path, required: dict[str, list[str]], platform: str
) -> tuple[dict[str, versions.Version], list[str]]:
    """The version Terraform would install of each provider (the newest every constraint admits), and what the
    mirror lacks: one line per provider it cannot supply."""
    selected, gaps = {}, []
    for address, constraints in sorted(required.items()):
        held = mirrored_versions(mirror, address, platform)
        usable = [v for v in held if all(versions.satisfies(v, c) for c in constraints)]
        if usable:
            selected[address] = usable[-1]
        else:
            wanted = f"{address} {', '.join(constraints) or '(any version)'} for {platform}"
            gaps.append(f"lacks {wanted} (has {', '.join(map(versions.format_version, held)) or 'none'})")
    return selected, gaps


def find_mirror(
    required: dict[str, list[str]], platform: str
) -> tuple[Path | None, dict[str, versions.Version], list[str]]:
    """The first mirror holding every required provider ($AIPX_TF_PROVIDER_MIRROR first), the versions it
    supplies, and why each earlier candidate did not do."""
    configured = os.environ.get(MIRROR_VARIABLE, "")
    candidates = ([Path(configured).expanduser()] if configured else []) + list(KNOWN_MIRRORS)
    rejected = []
    for index, candidate in enumerate(candidates):
        if not candidate.is_dir():
            if configured and index == 0:
                rejected.append(f"{MIRROR_VARIABLE}={configured} is not a directory")
            continue
        selected, gaps = select_versions(candidate, required, platform)
        if not gaps:
            return candidate.resolve(), selected, rejected
        rejected.append(f"{candidate} {'; '.join(gaps)}")
    return None, {}, rejected


def cli_configuration(mirror: Path, addresses: list[str]) -> str:
    """A CLI configuration installing the given providers' namespaces from the mirror and nowhere else."""
    patterns = sorted({address.rsplit("/", 1)[0] + "/*" for address in addresses})
    include = ", ".join(f'"{pattern}"' for pattern in patterns)
    return (
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f"    path    = {json.dumps(str(mirror))}\n"
        f"    include = [{include}]\n"
        "  }\n"
        "  direct {\n"
        f"    exclude = [{include}]\n"
        "  }\n"
        "}\n"
    )


def registry_problem() -> str:
    """Why registry.terraform.io cannot be reached from here; empty when it answers."""
    try:
        with urllib.request.urlopen(REGISTRY_PROBE, timeout=REGISTRY_TIMEOUT_SECONDS):
            return ""
    except (urllib.error.URLError, OSError) as error:
        return str(getattr(error, "reason", error))


def provider_installation(stack: Path, config_dir: Path) -> ProviderInstallation:
    """Install from a mirror when one fits (writing its CLI configuration into config_dir), else from the registry."""
    required = required_providers(stack)
    platform = platform_name()
    mirror, selected, rejected = find_mirror(required, platform)
    if mirror is not None:
        config_file = config_dir / "terraform-providers.tfrc"
        config_file.write_text(cli_configuration(mirror, list(required)))
        held = ", ".join(f"{address} {versions.format_version(v)}" for address, v in selected.items())
        return ProviderInstallation({"TF_CLI_CONFIG_FILE": str(config_file)}, f"filesystem mirror {mirror} ({held})")
    problem = registry_problem()
    if not problem:
        return ProviderInstallation({}, DEFAULT_REGISTRY)
    looked = "; ".join(rejected) or f"none of {', '.join(str(p) for p in KNOWN_MIRRORS)} exists"
    raise ProvidersUnavailable(
        f"the providers of {stack.name} ({', '.join(sorted(required))}) cannot be installed here: "
        f"{DEFAULT_REGISTRY} is unreachable ({problem}) and no filesystem mirror holds them ({looked}). "
        f"Set {MIRROR_VARIABLE} to a mirror made with `terraform providers mirror DIR`."
    )


@pytest.fixture(scope="session")
def aipx_providers(tmp_path_factory: pytest.TempPathFactory) -> ProviderInstallation:
    """How Terraform installs the AIPX stack's providers here; skips, saying why, when nothing can supply them."""
    try:
        return provider_installation(AIPX_STACK, tmp_path_factory.mktemp("terraform-cli"))
    except ProvidersUnavailable as error:
        pytest.skip(str(error))
