"""Read-only looks at the emulator and the state, for the drills' checks: nothing here writes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .. import state
from ..backend_settings import WriteLog
from ..context import StageContext
from ..errors import RunbookError
from ..lock_table import LockTable
from ..state_bucket import StateBucket


@dataclass(frozen=True)
class Finding:
    """One thing a check looked at: what, whether it is right, and what was found."""

    what: str
    ok: bool
    found: str


def state_key(ctx: StageContext) -> str:
    """The state object's key for this context's environment (and stack, where keys are per stack)."""
    return getattr(ctx, "state_key", "") or ctx.settings.state_key


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def bucket_exists(ctx: StageContext) -> bool:
    try:
        ctx.target.client("s3").head_bucket(Bucket=ctx.settings.state_bucket)
        return True
    except ClientError:
        return False


def backend_findings(ctx: StageContext) -> list[Finding]:
    """Every setting of the state bucket and lock table, as stage 01 reads them (reads only)."""
    if not bucket_exists(ctx):
        return [Finding(f"state bucket s3://{ctx.settings.state_bucket}", False, "does not exist")]
    account = ctx.target.client("sts").get_caller_identity()["Account"]
    log = WriteLog()
    found = [Finding(f"state bucket s3://{ctx.settings.state_bucket}", True, "exists")]
    try:
        settings = StateBucket(ctx, account, log).settings()
        table = LockTable(ctx, log)
        if table.exists():
            found.append(Finding(f"lock table {ctx.settings.lock_table}", True, "exists"))
            settings += table.settings()
        else:
            found.append(Finding(f"lock table {ctx.settings.lock_table}", False, "does not exist"))
    except (ClientError, BotoCoreError) as error:
        return [*found, Finding("backend settings", False, f"cannot be read: {error}")]
    found += [
        Finding(f"{s.resource} {s.name}", s.compliant, s.found if s.compliant else f"{s.found} (wanted {s.wanted})")
        for s in settings
        if not s.skipped
    ]
    return found


def state_body(ctx: StageContext) -> bytes | None:
    """The current state object, or None when there is none (or it cannot be read)."""
    try:
        response = ctx.target.client("s3").get_object(Bucket=ctx.settings.state_bucket, Key=state_key(ctx))
    except ClientError:
        return None
    return response["Body"].read()


def state_document(ctx: StageContext) -> dict[str, Any] | None:
    body = state_body(ctx)
    if body is None:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def resources(document: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Managed resources of a state document: address → {"id", "tainted"}."""
    found: dict[str, dict[str, Any]] = {}
    for resource in (document or {}).get("resources", []):
        if resource.get("mode") != "managed":
            continue
        for instance in resource.get("instances", []):
            address = f"{resource['type']}.{resource['name']}"
            found[address] = {
                "id": instance.get("attributes", {}).get("id", ""),
                "tainted": instance.get("status") == "tainted",
            }
    return found


def outputs(document: dict[str, Any] | None) -> dict[str, Any]:
    return {name: item.get("value") for name, item in (document or {}).get("outputs", {}).items()}


def digest_matches(ctx: StageContext) -> bool | None:
    """Whether the lock table's checksum is the state object's MD5 (None: no checksum recorded)."""
    body = state_body(ctx)
    if body is None or ctx.settings.locking == "lockfile":
        return None
    item = (
        ctx.target.client("dynamodb")
        .get_item(
            TableName=ctx.settings.lock_table,
            Key={"LockID": {"S": f"{ctx.settings.state_bucket}/{state_key(ctx)}-md5"}},
            ConsistentRead=True,
        )
        .get("Item")
    )
    if not item:
        return None
    return item["Digest"]["S"] == hashlib.md5(body).hexdigest()  # noqa: S324 (Terraform's own checksum)


def lock_findings(ctx: StageContext) -> list[Finding]:
    try:
        locks = state.held_locks(ctx)
    except RunbookError as error:
        return [Finding("state lock", False, f"cannot be read: {error.why}")]
    if locks:
        return [Finding("state lock", False, "still held: " + locks[0].describe())]
    return [Finding("state lock", True, "free")]


def applied_findings(ctx: StageContext, wanted: list[str]) -> list[Finding]:
    """The state exists and holds each wanted resource, none of them tainted."""
    document = state_document(ctx)
    if document is None:
        return [Finding(f"state s3://{ctx.settings.state_bucket}/{state_key(ctx)}", False, "missing or unreadable")]
    held = resources(document)
    found = [Finding(f"state s3://{ctx.settings.state_bucket}/{state_key(ctx)}", True, f"serial {document['serial']}")]
    for address in wanted:
        if address not in held:
            found.append(Finding(address, False, "not in the state"))
        elif held[address]["tainted"]:
            found.append(Finding(address, False, "in the state but tainted (its create step failed)"))
        else:
            found.append(Finding(address, True, f"in the state, id {held[address]['id']}"))
    return found


def finished(ctx: StageContext, wanted: list[str]) -> list[Finding]:
    """No lock is left, and the state holds each wanted resource untainted: the drill's job was done."""
    return lock_findings(ctx) + applied_findings(ctx, wanted)


def resource_ids(ctx: StageContext) -> dict[str, str]:
    """Each resource in the state by address, with its id: what a setup remembers to tell kept from replaced."""
    return {address: item["id"] for address, item in resources(state_document(ctx)).items()}


def replaced_findings(
    ctx: StageContext, remembered: dict[str, str], said: str, may_change: tuple[str, ...] = ()
) -> list[Finding]:
    """A failed finding for each remembered resource whose id changed (``said``: how that reads, given ``{now}``
    and ``{was}``), except those that ``may_change``."""
    held = resources(state_document(ctx))
    found = []
    for address, original in remembered.items():
        now = held.get(address, {}).get("id")
        if address not in may_change and now and now != original:
            found.append(Finding(address, False, said.format(now=now, was=original)))
    return found
