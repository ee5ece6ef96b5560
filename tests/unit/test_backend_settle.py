"""Stage 01 re-reads a resource created moments ago while a concurrent bootstrap may still be applying its
settings (backend_settings._settle); a finding no bootstrap in progress can produce ends the wait at once."""

from __future__ import annotations

from datetime import UTC, datetime

from aipx_runbook import backend_settings
from aipx_runbook.backend_settings import Setting


def _reader(found: list[Setting]) -> tuple[list[int], object]:
    reads: list[int] = []

    def read() -> list[Setting]:
        reads.append(1)
        return [found[min(len(reads), len(found)) - 1]]

    return reads, read


def test_a_suspended_versioning_is_reported_without_waiting() -> None:
    suspended = Setting("bucket", "versioning", "Enabled", "Suspended", False, settling=False)
    reads, read = _reader([suspended])
    settings = backend_settings._settle(read, datetime.now(UTC))
    assert reads == [1] and settings == [suspended]


def test_a_setting_a_bootstrap_may_still_apply_is_read_again_until_it_is_there() -> None:
    unset = Setting("bucket", "versioning", "Enabled", "never enabled", False)
    enabled = Setting("bucket", "versioning", "Enabled", "Enabled", True)
    reads, read = _reader([unset, unset, enabled])
    settings = backend_settings._settle(read, datetime.now(UTC))
    assert len(reads) == 3 and settings == [enabled]
