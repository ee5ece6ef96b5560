"""A state backend resource's settings: what is wanted, what is found, and the bootstrap that creates a missing
resource with every setting or reads an existing one (the state bucket: state_bucket.py; the lock table:
lock_table.py).

Two runs may bootstrap the same backend at once (two CI jobs): a create that loses the race
(BucketAlreadyOwnedByYou, ResourceInUseException) carries on as if it had won, and a resource created
moments ago is read again until the run that created it has finished applying its settings.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

TAGS = {"Project": "aipx", "ManagedBy": "aipx-runbook", "Purpose": "terraform-state"}
# How long after its creation a resource may still be mid-bootstrap by a concurrent run.
SETTLE_SECONDS = 30.0
READ_ONLY_OPERATIONS = ("Get", "Head", "List", "Describe")
AWS_FIX = "check the credentials and the permissions of this identity, then rerun stage 01"


@dataclass
class Setting:
    resource: str
    name: str
    wanted: str
    found: str
    compliant: bool
    fixable: bool = True
    action: str = ""
    skipped: bool = False
    # False where what was found cannot be a concurrent bootstrap still at work (versioning "Suspended" was
    # enabled once and turned off): nothing to wait for
    settling: bool = True

    @property
    def status(self) -> str:
        return "skip" if self.skipped else ("ok" if self.compliant else "fail")


class WriteLog:
    """Every API call that is not a read, recorded from botocore's before-call event of each client."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def watch(self, client: Any) -> Any:
        client.meta.events.register("before-call", self._record)
        return client

    def _record(self, model: Any, **_: Any) -> None:
        if not model.name.startswith(READ_ONLY_OPERATIONS):
            self.calls.append(f"{model.service_model.endpoint_prefix}:{model.name}")


class Resource(Protocol):
    """What the bootstrap needs of a backend resource (StateBucket, LockTable)."""

    label: str

    def exists(self) -> bool: ...
    def create(self) -> bool: ...
    def wait_ready(self) -> None: ...
    def created_at(self) -> datetime | None: ...
    def settings(self) -> list[Setting]: ...
    def apply(self, names: set[str]) -> None: ...


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def tags_setting(resource: str, found: dict[str, str]) -> Setting:
    """The runbook's tags on a resource: present, or which are missing."""
    missing = [f"{key}={value}" for key, value in TAGS.items() if found.get(key) != value]
    return Setting(
        resource,
        "tags",
        ", ".join(f"{k}={v}" for k, v in TAGS.items()),
        "missing: " + ", ".join(missing) if missing else "present",
        not missing,
    )


def _settle(read: Callable[[], list[Setting]], created_at: datetime | None) -> list[Setting]:
    """Read the settings again while a concurrent bootstrap may still be applying them (it cannot change
    what cannot be fixed in place, such as the region, nor turn a setting off after turning it on)."""
    settings = read()
    while created_at is not None and any(not s.compliant for s in settings):
        if any(not s.compliant and not (s.fixable and s.settling) for s in settings):
            break
        if (datetime.now(UTC) - created_at).total_seconds() > SETTLE_SECONDS:
            break
        time.sleep(0.5)
        settings = read()
    return settings


def _apply_until_compliant(resource: Resource) -> list[Setting]:
    """Apply the missing settings of a resource just created, and verify them; apply again while a
    concurrent bootstrap (or a read that lags the write) still shows one missing, for SETTLE_SECONDS."""
    deadline = time.monotonic() + SETTLE_SECONDS
    settings = resource.settings()
    while True:
        missing = {s.name for s in settings if s.fixable and not s.compliant}
        if not missing or time.monotonic() > deadline:
            return settings
        resource.apply(missing)
        settings = resource.settings()
        if any(s.fixable and not s.compliant for s in settings):
            time.sleep(0.5)


def bootstrap(resource: Resource, fix_drift: bool) -> tuple[list[Setting], str]:
    """Create a missing resource with every setting, or read an existing one.

    Returns its settings and what happened: created, completed (a concurrent run created it a moment
    before, so this run applies the settings too), drift (existing, not compliant) or existing.
    """
    if not resource.exists():
        outcome = "created" if resource.create() else "completed"
        resource.wait_ready()
        settings = _apply_until_compliant(resource)
        for setting in (s for s in settings if not s.skipped):
            setting.action = "set at creation" if outcome == "created" else "set (created concurrently)"
        return settings, outcome
    resource.wait_ready()
    settings = _settle(resource.settings, resource.created_at())
    drifting = {s.name for s in settings if not s.compliant}
    if not drifting:
        return settings, "existing"
    if fix_drift:
        resource.apply({s.name for s in settings if s.name in drifting and s.fixable})
        settings = resource.settings()
        for setting in settings:
            if setting.name in drifting and setting.compliant:
                setting.action = "fixed (fix_drift)"
    return settings, "drift"
