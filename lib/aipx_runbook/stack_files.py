"""What a stack directory holds, read without Terraform: the variables it declares, and digests of its files
(a saved plan records them; apply refuses the plan when they changed since)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from . import derived_cache, parsing

# Where a variable block can start: `variable "name" {` or `variable name {` at the start of a line (HCL puts a
# block's labels and its opening brace on the line of its type). An IAM condition's `variable = "aws:..."` is not.
VARIABLE_BLOCK = re.compile(r'^[ \t]*variable[ \t]+(?:"[^"\n]*"|[A-Za-z_][\w-]*)[ \t]*\{', re.MULTILINE)


def declared_variables(stack_dir: Path) -> set[str]:
    names: set[str] = set()
    for path in sorted(stack_dir.glob("*.tf")):
        # Parsing HCL is slow: only files that can hold a variable block are parsed (same result), and a file's
        # names are kept by its content for the next stage's process (derived_cache).
        text = path.read_text()
        if VARIABLE_BLOCK.search(text):
            names |= _variables_in(path, text)
    return names


def _variables_in(path: Path, text: str) -> set[str]:
    # The names a file declares follow from its text alone (python-hcl2 stays unloaded when they are known).
    key = hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
    return set(derived_cache.remembered("variables", key, lambda: sorted(_parse_variables(path, text))))


def _parse_variables(path: Path, text: str) -> set[str]:
    return {name.strip('"') for block in parsing.load_hcl(path, text).get("variable", []) for name in block}


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
