"""The state backend is out of bounds for every saved plan, apply and destroy alike.

The state bucket holds every environment's (and every stack's) state; the lock table guards it. A stack that
imported the bucket, one of its settings (versioning, public access block, encryption, policy, ...) or a state
object, and then dropped it from its configuration, plans to delete it, and applying that plan would take the
state of every environment with it. So each saved plan is read (``terraform show -json``, with every attribute)
and any change to the backend other than an import or a ``removed { lifecycle { destroy = false } }`` is refused
with the address and why, before any approval is asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import RunbookError

# Actions that leave AWS untouched: reading, importing into the state, forgetting (removed, destroy = false).
HARMLESS = {"no-op", "read", "forget"}


@dataclass(frozen=True)
class Refusal:
    address: str
    action: str
    reason: str

    def describe(self) -> str:
        return f"{self.address} ({self.action}): {self.reason}"


def _action(actions: list[str]) -> str:
    if set(actions) == {"create", "delete"}:
        return "replace"
    return actions[0] if actions else "no-op"


def _values(change: dict[str, Any]) -> list[dict[str, Any]]:
    return [v for v in (change.get("before"), change.get("after")) if isinstance(v, dict)]


def _touches(resource_type: str, values: list[dict[str, Any]], bucket: str, lock_table: str) -> str:
    """Why a resource is part of the backend, or ''."""
    for value in values:
        if resource_type.startswith("aws_s3_") and bucket in (value.get("bucket"), value.get("id")):
            if resource_type == "aws_s3_bucket":
                return f"it is the state bucket {bucket}, which holds the state of every environment and stack"
            if resource_type in ("aws_s3_object", "aws_s3_bucket_object", "aws_s3_object_copy"):
                return f"it is an object in the state bucket {bucket} (key {value.get('key', '?')}): a state file"
            return f"it is a setting of the state bucket {bucket} ({resource_type.removeprefix('aws_s3_bucket_')})"
        if resource_type.startswith("aws_dynamodb_"):
            names = (value.get("name"), value.get("table_name"))
            arns = [str(value.get(k, "")) for k in ("arn", "resource_arn", "table_arn")]
            if lock_table in names or any(arn.endswith(f":table/{lock_table}") for arn in arns):
                if resource_type != "aws_dynamodb_table":
                    return f"it is part of the lock table {lock_table} ({resource_type}), which guards every state"
                return f"it is the lock table {lock_table}, which guards every state against concurrent writes"
    return ""


def refusals(plan: dict[str, Any], bucket: str, lock_table: str) -> list[Refusal]:
    """Every change in a plan (``terraform show -json``) that would create, update, replace or delete the backend."""
    found = []
    for change in plan.get("resource_changes", []):
        body = change.get("change", {})
        action = _action(body.get("actions", []))
        if action in HARMLESS:
            continue
        reason = _touches(change.get("type", ""), _values(body), bucket, lock_table)
        if reason:
            found.append(Refusal(change["address"], action, reason))
    return found


def refuse(what: str, found: list[Refusal], stack: str) -> RunbookError:
    return RunbookError(
        what,
        "the plan would change the state backend, which the runbook never touches: "
        + "; ".join(r.describe() for r in found)
        + "; nothing was changed",
        f"take these resources out of the {stack} stack: remove their blocks and add `removed {{ from = ADDRESS "
        "lifecycle { destroy = false } }` (or run `terraform state rm ADDRESS`), then plan again; the state bucket, "
        "its settings and the lock table are managed by stage 01 only",
    )
