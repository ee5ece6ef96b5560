"""State and locks: what the state holds, who holds its lock, releasing a stale lock, the state's versions.

Sensitive values never leave this module unmasked: an attribute is masked when Terraform marks it sensitive
(``sensitive_values`` of ``terraform show -json``) or when its name says it is a secret.
A lock is released only when ``confirm_lock_id`` repeats the held lock's ID, through ``terraform
force-unlock`` in a working directory that holds nothing but the backend, so that releasing a lock never
depends on the stack's providers being installable.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
import shlex
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from . import accounts, aws_errors, config, hints
from .context import StageContext
from .contract import MASK
from .errors import ApprovalRequired, RunbookError, TerraformError
from .locks import Lock
from .results import Report, Table
from .terraform import TerraformRunner

SECRET_NAME = re.compile(r"password|passwd|secret|token|private_key|credential|auth_key|api_key", re.IGNORECASE)
BACKEND_ONLY_MODULE = 'terraform {\n  backend "s3" {}\n}\n'
VERSIONS_SHOWN = 20
AWS_FIX = "check the credentials and this identity's permissions on the state bucket and lock table"


def held_locks(ctx: StageContext) -> list[Lock]:
    """This environment's locks: the lock table's item and/or the S3 .tflock object, per the locking mode."""
    settings = ctx.settings
    locks: list[Lock] = []
    try:
        if settings.locking in ("dynamodb", "both"):
            item = (
                ctx.target.client("dynamodb")
                .get_item(
                    TableName=settings.lock_table,
                    Key={"LockID": {"S": f"{settings.state_bucket}/{settings.state_key}"}},
                    ConsistentRead=True,
                )
                .get("Item", {})
            )
            if "Info" in item:
                locks.append(Lock.from_json(f"DynamoDB table {settings.lock_table}", item["Info"]["S"]))
        if settings.locking in ("lockfile", "both"):
            key = f"{settings.state_key}.tflock"
            try:
                body = ctx.target.client("s3").get_object(Bucket=settings.state_bucket, Key=key)["Body"].read()
                locks.append(Lock.from_json(f"s3://{settings.state_bucket}/{key}", body.decode()))
            except ClientError as error:
                if aws_errors.code(error) not in ("NoSuchKey", "404"):
                    raise
    except ClientError as error:
        if aws_errors.code(error) in ("ResourceNotFoundException", "NoSuchBucket"):
            raise RunbookError(
                "read the state lock",
                f"the backend of {ctx.environment} does not exist ({aws_errors.code(error)})",
                "run stage 01 (backend setup) first",
            ) from error
        raise aws_errors.failure("read the state lock", error, AWS_FIX) from error
    except BotoCoreError as error:
        raise aws_errors.failure("read the state lock", error, AWS_FIX) from error
    return locks


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
    locks = held_locks(ctx)
    state = f"s3://{ctx.settings.state_bucket}/{ctx.settings.state_key}"
    if not locks:
        report = Report(
            "State lock",
            "ok",
            f"no lock held on {state}: no Terraform run is working on {ctx.environment}",
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


def backend_only(ctx: StageContext) -> StageContext:
    """The context of a working directory holding only the S3 backend, for commands on the state alone."""
    folder = config.state_dir() / "backend-only"
    folder.mkdir(parents=True, exist_ok=True)
    main = folder / "main.tf"
    if not main.exists() or main.read_text() != BACKEND_ONLY_MODULE:
        main.write_text(BACKEND_ONLY_MODULE)
    return dataclasses.replace(ctx, stack="backend-only", stack_dir=folder)


def release_lock(ctx: StageContext, confirm_lock_id: str = "") -> Report:
    """Force-unlock the held lock, only when confirm_lock_id is its ID; without one, explain how."""
    locks = held_locks(ctx)
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
    accounts.guard_account(ctx)
    runner = TerraformRunner(backend_only(ctx))
    runner.init()
    runner.force_unlock(confirm_lock_id)
    remaining = [lock for lock in held_locks(ctx) if lock.id == confirm_lock_id]
    if remaining:
        raise RunbookError(
            "release the state lock",
            f"terraform force-unlock succeeded but the lock is still in {remaining[0].where}",
            "read the lock with notebook 07 again; delete the lock item or .tflock object by hand if it stays",
        )
    released = next(lock for lock in locks if lock.id == confirm_lock_id)
    report = Report(
        "Release the state lock",
        "changed",
        f"released {released.describe()}",
        facts={**_lock_facts([released]), "lock_held": False, "released": True},
        tables=[_lock_rows([lock for lock in locks if lock.id == confirm_lock_id])],
    )
    return ctx.record(report)


def _runner(ctx: StageContext) -> TerraformRunner:
    """The stack's runner, initialised again: init is idempotent, and the backend's endpoint may have moved."""
    runner = TerraformRunner(ctx)
    runner.init()
    return runner


def state_list(ctx: StageContext) -> Report:
    try:
        addresses = _runner(ctx).state_list()
    except TerraformError as error:
        if "No state file was found" not in error.stderr:
            raise
        addresses = []
    rows = [[address, address.rsplit(".", 2)[-2] if "." in address else ""] for address in addresses]
    if not addresses:
        return Report(
            "terraform state list",
            "info",
            f"the state of {ctx.environment} holds no resources (stages 03 and 04 put them there)",
            facts={"resources": 0},
        )
    report = Report(
        "terraform state list",
        "ok",
        f"{len(addresses)} resources in the state of {ctx.environment}",
        facts={"resources": len(addresses)},
        tables=[Table(["address", "type"], rows)],
    )
    report.notes.append(f"show one with state_address='{addresses[0]}'")
    return report


def _resources(module: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(module.get("resources", []))
    for child in module.get("child_modules", []):
        found += _resources(child)
    return found


def _flatten(value: Any, marks: Any, path: str) -> list[tuple[str, str]]:
    """(attribute path, shown value) pairs; a value Terraform marks sensitive or named like a secret is masked."""
    name = re.split(r"[.\[]", path)[-1] if path else ""
    if marks is True or (name and SECRET_NAME.search(name) and value not in (None, "", [], {})):
        return [(path, MASK)]
    if isinstance(value, dict) and value:
        marks = marks if isinstance(marks, dict) else {}
        return [
            pair
            for key, item in value.items()
            for pair in _flatten(item, marks.get(key), f"{path}.{key}" if path else key)
        ]
    if isinstance(value, list) and value:
        marks = marks if isinstance(marks, list) else []
        return [
            pair
            for index, item in enumerate(value)
            for pair in _flatten(item, marks[index] if index < len(marks) else None, f"{path}[{index}]")
        ]
    return [(path, json.dumps(value) if not isinstance(value, str) else value)]


def state_show(ctx: StageContext, address: str = "") -> Report:
    if not address:
        return Report(
            "terraform state show",
            "info",
            "no address given: pass state_address (one of the addresses `state list` shows), "
            "e.g. module.vpc.aws_vpc.this[0]",
        )
    document = _runner(ctx).show_state()
    resources = _resources(document.get("values", {}).get("root_module", {}))
    match = next((r for r in resources if r.get("address") == address), None)
    if match is None:
        known = [r["address"] for r in resources]
        close = difflib.get_close_matches(address, known, n=3) or known[:5]
        raise RunbookError(
            f"show {address}",
            f"the state of {ctx.environment} has no resource {address}",
            "use an address from `state list`" + (f", e.g. {', '.join(close)}" if close else ": the state is empty"),
        )
    pairs = _flatten(match.get("values", {}), match.get("sensitive_values", {}), "")
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


def _versions(ctx: StageContext) -> list[dict[str, Any]]:
    s3 = ctx.target.client("s3")
    key = ctx.settings.state_key
    entries: list[dict[str, Any]] = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=ctx.settings.state_bucket, Prefix=key):
        entries += [dict(v, Kind="version") for v in page.get("Versions", []) if v["Key"] == key]
        entries += [dict(m, Kind="delete marker") for m in page.get("DeleteMarkers", []) if m["Key"] == key]
    return sorted(entries, key=lambda entry: entry["LastModified"], reverse=True)


def restore_steps(ctx: StageContext, version_id: str) -> list[tuple[str, str]]:
    """The shell commands that restore one version of the state, each with why."""
    bucket, key = ctx.settings.state_bucket, ctx.settings.state_key
    endpoint = f" --endpoint-url {ctx.target.endpoint_url}" if ctx.target.is_local else ""
    setup = f"cd {shlex.quote(str(ctx.stack_dir))} && export TF_DATA_DIR={shlex.quote(str(ctx.terraform_data_dir))}"
    if ctx.target.is_local:
        setup += " AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing"
    return [
        (setup, "the working directory stage 02 initialised for this environment"),
        ('RESTORE="$(mktemp -d)"', "a private folder (mode 700) for the state files: they may hold secrets"),
        ('terraform state pull > "$RESTORE/before.tfstate"', "a copy of the current state"),
        (
            f"aws s3api get-object --region {ctx.region} --bucket {bucket} --key {key} --version-id {version_id}"
            f'{endpoint} "$RESTORE/restored.tfstate"',
            "the version to restore",
        ),
        ('terraform show "$RESTORE/restored.tfstate"', "check that it holds what you expect"),
        (
            'terraform state push -force "$RESTORE/restored.tfstate"',
            "-force because its serial is older than the current one; Terraform takes the lock and updates the "
            "lock table's checksum (copying the S3 object by hand would leave that checksum stale)",
        ),
        ('rm -r "$RESTORE"', "once the restored state is confirmed"),
        (
            f"aipx-runbook run --env {ctx.environment} --target {ctx.target.name} --stages plan",
            "compare the restored state with the real infrastructure",
        ),
    ]


def state_versions(ctx: StageContext) -> Report:
    try:
        entries = _versions(ctx)
    except (ClientError, BotoCoreError) as error:
        raise aws_errors.failure("list the state object's versions", error, AWS_FIX) from error
    state = f"s3://{ctx.settings.state_bucket}/{ctx.settings.state_key}"
    if not entries:
        return Report(
            "State versions",
            "info",
            f"{state} does not exist yet: run stages 03 and 04 first",
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
        f"{len(entries)} version{'s' if len(entries) != 1 else ''} of {state}",
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
