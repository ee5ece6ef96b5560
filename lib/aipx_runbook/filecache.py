"""Read a file's parsed content once per process while the file stays the same.

A stage estimates several environments' costs and reads the same price table, assumptions and tfvars many
times over; parsing HCL with python-hcl2 is slow. ``functools.lru_cache`` alone would keep serving a file
edited in a long-lived JupyterLab kernel, so the key is the path with a hash of its bytes (reading and hashing
a small file costs far less than parsing it, and unlike a modification time it cannot miss a quick edit).
Only frozen records or copies leave the cache, so no caller can change what the next one gets.
"""

from __future__ import annotations

import copy
import functools
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def by_content(parse: Callable[[Path], T]) -> Callable[[Path], T]:
    """``parse(path)``, cached per (path, content); an unreadable file is parsed (and fails) every time."""

    @functools.lru_cache(maxsize=64)
    def cached(path: Path, _digest: str) -> T:
        return parse(path)

    @functools.wraps(parse)
    def read(path: Path) -> T:
        try:
            digest = hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()
        except OSError:
            return parse(path)
        return _copy(cached(path, digest))

    read.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
    return read


def _copy(value: Any) -> Any:
    return copy.deepcopy(value) if isinstance(value, dict | list | set) else value
