"""Terraform versions and ``required_version`` constraints (>=, >, <=, <, =, !=, ~>)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from . import parsing
from .timings import measure

Version = tuple[int, int, int]
_CONSTRAINT = re.compile(r"^\s*(>=|<=|!=|~>|>|<|=)?\s*v?(\d+(?:\.\d+){0,2})\s*$")


def parse_version(text: str) -> Version:
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not match:
        raise ValueError(f"not a version: {text!r}")
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch or 0)


def format_version(version: Version) -> str:
    return ".".join(str(part) for part in version)


def _satisfies_one(version: Version, operator: str, bound_text: str) -> bool:
    bound = parse_version(bound_text)
    if operator == "~>":
        parts = bound_text.count(".") + 1
        upper = (bound[0] + 1, 0, 0) if parts <= 2 else (bound[0], bound[1] + 1, 0)
        return bound <= version < upper
    return {
        "": version == bound,
        "=": version == bound,
        "!=": version != bound,
        ">": version > bound,
        ">=": version >= bound,
        "<": version < bound,
        "<=": version <= bound,
    }[operator]


def satisfies(version: Version, constraint: str) -> bool:
    """Whether ``version`` meets a Terraform constraint string such as ``">= 1.5.0, < 2.0"``."""
    for part in constraint.split(","):
        match = _CONSTRAINT.match(part)
        if not match:
            raise ValueError(f"cannot read version constraint {constraint!r}")
        if not _satisfies_one(version, match.group(1) or "", match.group(2)):
            return False
    return True


def minimum_of(constraint: str) -> Version:
    """The lowest version a constraint admits, for messages such as 'needs Terraform >= 1.5.0'."""
    lowest = (0, 0, 0)
    for part in constraint.split(","):
        match = _CONSTRAINT.match(part)
        if match and (match.group(1) or "=") in (">=", "~>", "="):
            lowest = max(lowest, parse_version(match.group(2)))
    return lowest


def required_version(stack_dir: Path) -> str:
    """The stack's ``terraform { required_version = ... }``, or '' when it sets none."""
    for path in sorted(stack_dir.glob("*.tf")):
        text = path.read_text()
        if "required_version" not in text:  # parsing HCL is slow: skip files that cannot hold it
            continue
        document = parsing.load_hcl(path)
        for block in document.get("terraform", []):
            value = block.get("required_version")
            if value:
                return str(value).strip('"')
    return ""


def installed_version(binary: str) -> Version:
    with measure("terraform"):
        return _installed_version(binary)


def _installed_version(binary: str) -> Version:
    result = subprocess.run([binary, "version", "-json"], capture_output=True, text=True, timeout=60)
    if result.returncode == 0 and result.stdout.strip().startswith("{"):
        return parse_version(json.loads(result.stdout)["terraform_version"])
    result = subprocess.run([binary, "version"], capture_output=True, text=True, timeout=60)
    return parse_version(result.stdout)
