"""Small facts derived from files, kept from one process to the next: every stage runs in a fresh kernel, and
would otherwise parse the stack's variables and ask the Terraform binary for its version all over again.

A fact is stored under a key naming exactly what it was derived from (a file's content hash, a binary's path,
size, modification time and inode): a changed file gets a new key, never a stale answer. Only small values that
hold no secret go here (variable names, version numbers), in the private store
(``<workspace>/.aipx/cache/<kind>.json``), replaced whole and atomically. A missing, unreadable or corrupt
cache is no error: the fact is derived again. The store is skipped where there is no workspace.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import config
from .errors import RunbookError

FOLDER = "cache"
MAX_ENTRIES = 64


def remembered(kind: str, key: str, derive: Callable[[], Any]) -> Any:
    """``derive()``, or what it returned before for the same ``kind`` and ``key`` (a JSON value)."""
    path = _path(kind)
    entries = _read(path) if path else {}
    if key in entries:
        return entries[key]
    value = derive()
    if path:
        entries.pop(key, None)
        entries[key] = value
        _write(path, dict(list(entries.items())[-MAX_ENTRIES:]))
    return value


def file_key(path: Path) -> str:
    """A file as it is now on disk: its real path, size, modification time and inode."""
    real = Path(path).resolve()
    stat = real.stat()
    return f"{real}:{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ino}"


def _path(kind: str) -> Path | None:
    try:
        folder = config.state_dir() / FOLDER
        folder.mkdir(mode=0o700, exist_ok=True)
    except (OSError, RunbookError):
        return None
    return folder / f"{kind}.json"


def _read(path: Path) -> dict[str, Any]:
    try:
        entries = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return entries if isinstance(entries, dict) else {}


def _write(path: Path, entries: dict[str, Any]) -> None:
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    try:
        partial.write_text(json.dumps(entries))
        os.replace(partial, path)
    except OSError:
        partial.unlink(missing_ok=True)
