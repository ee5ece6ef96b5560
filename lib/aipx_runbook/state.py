"""State and locks, read and changed: who holds the state's lock, releasing it, the resources and attributes the
state holds, the state object's versions. stages/state.py shows them as stage 07's reports.

Sensitive values never leave this module unmasked: an attribute is masked when Terraform marks it sensitive
(``sensitive_values`` of ``terraform show -json``) or when its name says it is a secret.
A lock is released through ``terraform force-unlock`` in a working directory that holds nothing but the
backend, so that releasing a lock never depends on the stack's providers being installable.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from . import accounts, aws_errors, config
from .context import StageContext
from .contract import MASK
from .errors import RunbookError, TerraformError
from .locks import Lock
from .terraform import TerraformRunner

__all__ = ["MASK", "backend_only", "held_locks", "release", "resource_addresses", "resource_values", "versions"]
SECRET_NAME = re.compile(r"password|passwd|secret|token|private_key|credential|auth_key|api_key", re.IGNORECASE)
BACKEND_ONLY_MODULE = 'terraform {\n  backend "s3" {}\n}\n'
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


def backend_only(ctx: StageContext) -> StageContext:
    """The context of a working directory holding only the S3 backend, for commands on the state alone."""
    folder = config.state_dir() / "backend-only"
    folder.mkdir(parents=True, exist_ok=True)
    main = folder / "main.tf"
    if not main.exists() or main.read_text() != BACKEND_ONLY_MODULE:
        main.write_text(BACKEND_ONLY_MODULE)
    return dataclasses.replace(ctx, stack="backend-only", stack_dir=folder)


def release(ctx: StageContext, lock_id: str) -> None:
    """Force-unlock the lock ``lock_id`` (after the account guard), and check that it is gone."""
    accounts.guard_account(ctx)
    runner = TerraformRunner(backend_only(ctx))
    runner.init()
    runner.force_unlock(lock_id)
    remaining = [lock for lock in held_locks(ctx) if lock.id == lock_id]
    if remaining:
        raise RunbookError(
            "release the state lock",
            f"terraform force-unlock succeeded but the lock is still in {remaining[0].where}",
            "read the lock with notebook 07 again; delete the lock item or .tflock object by hand if it stays",
        )


def _runner(ctx: StageContext) -> TerraformRunner:
    """The stack's runner, initialised again: init is idempotent, and the backend's endpoint may have moved."""
    runner = TerraformRunner(ctx)
    runner.init()
    return runner


def resource_addresses(ctx: StageContext) -> list[str]:
    """The addresses in the state (none when no state was written yet)."""
    try:
        return _runner(ctx).state_list()
    except TerraformError as error:
        if "No state file was found" not in error.stderr:
            raise
        return []


def resource_values(ctx: StageContext, address: str) -> tuple[dict[str, Any] | None, list[str], list[tuple[str, str]]]:
    """(the resource at ``address`` or None, every address in the state, its (attribute, shown value) pairs with
    sensitive values masked)."""
    document = _runner(ctx).show_state()
    resources = _resources(document.get("values", {}).get("root_module", {}))
    match = next((r for r in resources if r.get("address") == address), None)
    known = [r["address"] for r in resources]
    if match is None:
        return None, known, []
    return match, known, _flatten(match.get("values", {}), match.get("sensitive_values", {}), "")


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


def versions(ctx: StageContext) -> list[dict[str, Any]]:
    s3 = ctx.target.client("s3")
    key = ctx.settings.state_key
    entries: list[dict[str, Any]] = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=ctx.settings.state_bucket, Prefix=key):
        entries += [dict(v, Kind="version") for v in page.get("Versions", []) if v["Key"] == key]
        entries += [dict(m, Kind="delete marker") for m in page.get("DeleteMarkers", []) if m["Key"] == key]
    return sorted(entries, key=lambda entry: entry["LastModified"], reverse=True)
