"""Stage 07: the state's resources, one resource's attributes (masked), its versions with the restore steps,
and its lock, released only when ``confirm_lock_id`` repeats the held lock's ID (state.py does the work)."""

from __future__ import annotations

import difflib
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .. import aws_errors, hints, registry, state
from ..context import StageContext
from ..contract import MASK
from ..errors import ApprovalRequired, RunbookError
from ..locks import Lock
from ..results import Report, Table
from ..state_restore import restore_steps

VERSIONS_SHOWN = 20


def _lock_rows(locks: list[Lock]) -> Table:
    rows = [
        [lock.where, lock.id, lock.who, hints.operation_name(lock.operation), lock.since, lock.age, lock.version]
        for lock in locks
    ]
    return Table(["where", "lock ID", "held by", "operation", "since", "age", "Terraform"], rows)


def _lock_facts(locks: list[Lock]) -> dict[str, Any]:
    if not locks:
        return {"lock_held": False}
    lock = locks[0]
    age = int((datetime.now(UTC) - lock.created).total_seconds()) if lock.created else None
    return {"lock_held": True, "lock_id": lock.id, "holder": lock.who, "operation": lock.operation, "age_seconds": age}


def lock_status(ctx: StageContext) -> Report:
    locks = state.held_locks(ctx)
    where = f"s3://{ctx.settings.state_bucket}/{ctx.settings.state_key}"
    if not locks:
        report = Report(
            "State lock",
            "ok",
            f"no lock held on {where}: no Terraform run is working on {ctx.environment}",
            facts=_lock_facts(locks),
        )
        return ctx.record(report)
    report = Report("State lock", "warn", locks[0].describe(), facts=_lock_facts(locks), tables=[_lock_rows(locks)])
    report.notes += [
        "If that run is still working, wait for it: releasing a live run's lock lets two runs write the state.",
        "If its process is gone (killed, crashed, a closed laptop), release the lock with "
        f"confirm_lock_id='{locks[0].id}' (aipx-runbook run --env {ctx.environment} --stages state "
        f"-p confirm_lock_id={locks[0].id}).",
    ]
    return ctx.record(report)


def release_lock(ctx: StageContext, confirm_lock_id: str = "") -> Report:
    """Force-unlock the held lock, only when confirm_lock_id is its ID; without one, explain how."""
    registry.check("state", {"confirm_lock_id": confirm_lock_id})
    locks = state.held_locks(ctx)
    if not locks:
        summary = "no lock held; nothing to release"
        if confirm_lock_id:
            summary += f" (lock {confirm_lock_id} is not held any more)"
        return ctx.record(
            Report("Release the state lock", "ok", summary, facts={"lock_held": False, "released": False})
        )
    held = locks[0]
    if not confirm_lock_id:
        report = Report(
            "Release the state lock",
            "warn",
            f"not released: {held.describe()}",
            facts={**_lock_facts(locks), "released": False},
            tables=[_lock_rows(locks)],
        )
        report.notes.append(
            f"To release it, make sure its process is gone, then pass confirm_lock_id='{held.id}' "
            f"(papermill -p confirm_lock_id {held.id})."
        )
        return ctx.record(report)
    if confirm_lock_id not in {lock.id for lock in locks}:
        raise ApprovalRequired(
            f"release the state lock of {ctx.environment}",
            f"confirm_lock_id '{confirm_lock_id}' is not the held lock's ID: {held.describe()}; nothing was changed",
            f"check that the holder's process is gone, then pass confirm_lock_id='{held.id}'",
        )
    state.release(ctx, confirm_lock_id)
    released = [lock for lock in locks if lock.id == confirm_lock_id]
    report = Report(
        "Release the state lock",
        "changed",
        f"released {released[0].describe()}",
        facts={**_lock_facts(released[:1]), "lock_held": False, "released": True},
        tables=[_lock_rows(released)],
    )
    return ctx.record(report)


def state_list(ctx: StageContext) -> Report:
    addresses = state.resource_addresses(ctx)
    if not addresses:
        return Report(
            "terraform state list",
            "info",
            f"the state of {ctx.environment} holds no resources (stages 03 and 04 put them there)",
            facts={"resources": 0},
        )
    rows = [[address, address.rsplit(".", 2)[-2] if "." in address else ""] for address in addresses]
    report = Report(
        "terraform state list",
        "ok",
        f"{len(addresses)} resources in the state of {ctx.environment}",
        facts={"resources": len(addresses)},
        tables=[Table(["address", "type"], rows)],
    )
    report.notes.append(f"show one with state_address='{addresses[0]}'")
    return report


def state_show(ctx: StageContext, address: str = "") -> Report:
    registry.check("state", {"state_address": address})
    if not address:
        return Report(
            "terraform state show",
            "info",
            "no address given: pass state_address (one of the addresses `state list` shows), "
            "e.g. module.vpc.aws_vpc.this[0]",
        )
    match, known, pairs = state.resource_values(ctx, address)
    if match is None:
        close = difflib.get_close_matches(address, known, n=3) or known[:5]
        raise RunbookError(
            f"show {address}",
            f"the state of {ctx.environment} has no resource {address}",
            "use an address from `state list`" + (f", e.g. {', '.join(close)}" if close else ": the state is empty"),
        )
    masked = sum(1 for _, shown in pairs if shown == MASK)
    report = Report(
        f"terraform state show {address}",
        "ok",
        f"{match.get('type')} from {match.get('provider_name', '?')}: {len(pairs)} attributes, {masked} masked",
        facts={"address": address, "masked": masked},
        tables=[Table(["attribute", "value"], [list(pair) for pair in pairs])],
    )
    report.notes.append("masked: what Terraform marks sensitive and attributes named like secrets")
    return report


def state_versions(ctx: StageContext) -> Report:
    try:
        entries = state.versions(ctx)
    except (ClientError, BotoCoreError) as error:
        raise aws_errors.failure("list the state object's versions", error, state.AWS_FIX) from error
    where = f"s3://{ctx.settings.state_bucket}/{ctx.settings.state_key}"
    if not entries:
        return Report(
            "State versions",
            "info",
            f"{where} does not exist yet: run stages 03 and 04 first",
            facts={"state_versions": 0},
        )
    rows = [
        [
            index,
            entry["VersionId"],
            f"{entry['LastModified']:%Y-%m-%d %H:%M:%S %Z}",
            entry.get("Size", ""),
            entry["IsLatest"],
            entry["Kind"],
        ]
        for index, entry in enumerate(entries[:VERSIONS_SHOWN])
    ]
    report = Report(
        "State versions",
        "ok",
        f"{len(entries)} version{'s' if len(entries) != 1 else ''} of {where}",
        facts={"state_versions": len(entries)},
        tables=[Table(["#", "version id", "last modified", "bytes", "latest", "kind"], rows)],
    )
    if len(entries) > VERSIONS_SHOWN:
        report.notes.append(f"the {VERSIONS_SHOWN} newest of {len(entries)} are shown")
    if entries[0]["VersionId"] == "null":
        report.notes.append("bucket versioning is off, so no earlier version is kept: run stage 01 with fix_drift=True")
        return report
    previous = next((e for e in entries[1:] if e["Kind"] == "version"), None)
    if previous is None:
        report.notes.append("only one version so far: there is nothing earlier to restore")
        return report
    report.notes.append(f"To restore version {previous['VersionId']} (#{entries.index(previous)}), from a shell:")
    report.notes += [f"{command}    # {why}" for command, why in restore_steps(ctx, previous["VersionId"])]
    return report
