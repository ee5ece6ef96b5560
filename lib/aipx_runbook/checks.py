"""A prerequisite check: what was checked, what was found, what is required, and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Check:
    name: str
    found: str
    required: str
    ok: bool
    fix: str = ""
    blocking: bool = True

    @property
    def status(self) -> str:
        return "ok" if self.ok else ("fail" if self.blocking else "warn")


def summary(checks: list[Check]) -> str:
    counts = {status: sum(1 for c in checks if c.status == status) for status in ("ok", "warn", "fail")}
    text = f"{counts['ok']} of {len(checks)} checks passed"
    if counts["warn"]:
        text += f", {counts['warn']} warning{'s' if counts['warn'] > 1 else ''}"
    if counts["fail"]:
        text += f", {counts['fail']} failed"
    return text
