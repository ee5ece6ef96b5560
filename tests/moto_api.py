"""The moto server's own API, for tests and fixtures that need an empty emulated account."""

from __future__ import annotations

import urllib.request


def empty(endpoint: str) -> None:
    """Every bucket, table, role and lock of the emulator at ``endpoint`` gone (moto's reset)."""
    urllib.request.urlopen(urllib.request.Request(endpoint + "/moto-api/reset", method="POST")).close()
