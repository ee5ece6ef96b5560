"""Terraform state locks: one model, and the one rule for releasing a lock without asking.

A lock is released without the operator only when this command can prove it took it: the lock's ID is one
that *this* Terraform process generated, as its own log says (``TF_LOG=info`` names the ID of every lock it
attempts: "Attempting to lock remote state ...: tf_backend.lock.id=<uuid>"). That happens when the AWS SDK
inside Terraform retries a lock write whose answer it lost: the retry finds the lock the first attempt took,
and Terraform gives up and exits, leaving its own lock held. A lock of the same user, host and operation
that another process took (another data directory, another clone, another terminal) is never released:
its holder may still be writing the state. The operator releases such a lock in notebook 07 after checking.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

from . import hints

ATTEMPT = re.compile(r"Attempting to lock remote state.*?tf_backend\.lock\.id=(?P<id>[0-9a-f-]{36})")


@dataclass(frozen=True)
class Lock:
    """A Terraform state lock as the S3 backend writes it (the Info JSON of the lock item or .tflock object)."""

    where: str
    id: str
    operation: str
    who: str
    version: str
    created: datetime | None
    path: str

    @classmethod
    def from_json(cls, where: str, text: str) -> Lock:
        info = json.loads(text)
        return cls(
            where,
            info.get("ID", ""),
            info.get("Operation", ""),
            info.get("Who", ""),
            info.get("Version", ""),
            hints.parse_time(info.get("Created", "")),
            info.get("Path", ""),
        )

    @classmethod
    def from_error(cls, text: str) -> Lock | None:
        """The lock Terraform names in an "Error acquiring the state lock" message, or None."""
        if "Error acquiring the state lock" not in text:
            return None
        fields = hints.lock_fields(text)
        if not fields.get("ID"):
            return None
        return cls(
            "the state lock",
            fields["ID"],
            fields.get("Operation", ""),
            fields.get("Who", ""),
            fields.get("Version", ""),
            hints.parse_time(fields.get("Created", "")),
            fields.get("Path", ""),
        )

    @property
    def since(self) -> str:
        return f"{self.created:%Y-%m-%d %H:%M:%S} UTC" if self.created else "unknown"

    @property
    def age(self) -> str:
        return hints.age_text(self.created) if self.created else "unknown"

    def describe(self) -> str:
        return (
            f"lock {self.id} held by {self.who or 'an unknown holder'} for {hints.operation_name(self.operation)} "
            f"since {self.since} ({self.age} ago)"
        )


def attempted_ids(log_text: str) -> set[str]:
    """The IDs of the locks a Terraform process attempted, from its own ``TF_LOG=info`` log."""
    return {match["id"] for match in ATTEMPT.finditer(log_text)}


def proven_own(error_text: str, log_text: str) -> Lock | None:
    """The lock a failed command found held, when that command's own process generated its ID; else None."""
    lock = Lock.from_error(error_text)
    if lock is None or lock.id not in attempted_ids(log_text):
        return None
    return lock


def release_instructions(lock: Lock, environment: str, target: str = "local", stack: str = "") -> str:
    """Who holds it, since when, and the exact command that releases it once its holder is known to be gone."""
    stack_option = f" --stack {stack}" if stack else ""
    return (
        f"{lock.describe()}. It was left alone: this command cannot prove it took it, and its holder may still be "
        "writing the state. Wait for that run to finish; if its process is gone (killed, crashed, a closed "
        f"laptop), release it with notebook 07 (confirm_lock_id='{lock.id}'): aipx-runbook run --env "
        f"{environment} --target {target}{stack_option} --stages state -p confirm_lock_id={lock.id}"
    )
