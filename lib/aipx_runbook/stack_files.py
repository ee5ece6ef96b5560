"""What a stack directory holds, read without Terraform: the variables it declares, and digests of its files
(a saved plan records them; apply refuses the plan when they changed since)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from . import filecache, parsing

VARIABLE_BLOCK = re.compile(r"\bvariable\b")


def declared_variables(stack_dir: Path) -> set[str]:
    names: set[str] = set()
    for path in sorted(stack_dir.glob("*.tf")):
        # Parsing HCL is slow: only files that can hold a variable block are parsed (same result).
        if VARIABLE_BLOCK.search(path.read_text()):
            names |= _variables_in(path)
    return names


@filecache.by_content
def _variables_in(path: Path) -> frozenset[str]:
    return frozenset(name.strip('"') for block in parsing.load_hcl(path).get("variable", []) for name in block)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def stack_digest(stack_dir: Path, var_file: Path | None) -> str:
    """A hash of every file the stack directory holds (relative path and content; the .terraform directory
    aside) and of the environment's variables, to detect edits after plan: a script or template the stack
    reads is as much its configuration as its .tf files."""
    digest = hashlib.sha256()
    files = sorted(
        (p for p in stack_dir.rglob("*") if p.is_file() and ".terraform" not in p.relative_to(stack_dir).parts),
        key=lambda p: p.relative_to(stack_dir).as_posix(),
    )
    entries = [(p.relative_to(stack_dir).as_posix(), p) for p in files]
    if var_file is not None and var_file.exists():
        entries.append((f"var-file:{var_file.name}", var_file))
    for name, path in entries:
        digest.update(name.encode() + b"\0")
        digest.update(file_sha256(path).encode())
    return digest.hexdigest()
