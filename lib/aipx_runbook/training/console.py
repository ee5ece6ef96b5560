"""The trainee's AWS console on the emulator: what an administrator would look at and change by hand.

Some faults are not the runbook's to fix (a bucket policy that denies, a bucket someone created by hand):
in a real account the administrator uses the AWS console or CLI. In training these calls play that part,
on target ``local`` only, and refuse anything destructive that would lose data (a bucket with objects).
"""

from __future__ import annotations

import json

from botocore.exceptions import ClientError

from ..errors import RunbookError
from ..results import Report, Table
from .scene import context


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _policy(s3, bucket: str) -> dict:  # noqa: ANN001 (a boto3 client)
    try:
        return json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    except ClientError as error:
        if _code(error) == "NoSuchBucketPolicy":
            return {"Version": "2012-10-17", "Statement": []}
        raise


def bucket_policy(environment: str = "dev", bucket: str = "") -> Report:
    """The statements of a bucket's policy (default: the environment's state bucket)."""
    ctx = context(environment)
    name = bucket or ctx.settings.state_bucket
    statements = _policy(ctx.target.client("s3"), name)["Statement"]
    rows = [
        [
            s.get("Sid", "(no Sid)"),
            s.get("Effect"),
            json.dumps(s.get("Principal")),
            json.dumps(s.get("Action")),
            json.dumps(s.get("Resource")),
            json.dumps(s.get("Condition", {})),
        ]
        for s in statements
    ]
    report = Report(
        f"Bucket policy of s3://{name}",
        "info",
        f"{len(statements)} statement(s)" if statements else "no bucket policy",
        facts={"statements": [row[0] for row in rows]},
        tables=[Table(["Sid", "effect", "principal", "action", "resource", "condition"], rows)] if rows else [],
    )
    report.notes.append("an explicit Deny wins over every Allow, for every principal it matches")
    return report


def remove_policy_statement(sid: str, environment: str = "dev", bucket: str = "") -> Report:
    """Take one statement (by Sid) out of a bucket's policy, keeping the others."""
    ctx = context(environment)
    name = bucket or ctx.settings.state_bucket
    s3 = ctx.target.client("s3")
    policy = _policy(s3, name)
    kept = [s for s in policy["Statement"] if s.get("Sid") != sid]
    if len(kept) == len(policy["Statement"]):
        known = ", ".join(s.get("Sid", "(no Sid)") for s in policy["Statement"]) or "none"
        raise RunbookError(
            f"remove statement {sid} from the policy of s3://{name}",
            f"the policy has no statement {sid!r}; its statements: {known}",
            "pass the Sid exactly as bucket_policy() shows it",
        )
    if kept:
        s3.put_bucket_policy(Bucket=name, Policy=json.dumps({**policy, "Statement": kept}))
    else:
        s3.delete_bucket_policy(Bucket=name)
    return Report(
        f"Bucket policy of s3://{name}",
        "changed",
        f"removed statement {sid}; {len(kept)} statement(s) left",
        facts={"removed": sid, "left": len(kept)},
    )


def buckets(environment: str = "dev") -> Report:
    """Every bucket of the emulated account: region, objects, tags."""
    ctx = context(environment)
    s3 = ctx.target.client("s3")
    rows = []
    for bucket in s3.list_buckets()["Buckets"]:
        name = bucket["Name"]
        region = s3.get_bucket_location(Bucket=name).get("LocationConstraint") or "us-east-1"
        objects = s3.list_objects_v2(Bucket=name).get("KeyCount", 0)
        try:
            tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=name)["TagSet"]}
        except ClientError:
            tags = {}
        rows.append([name, region, objects, ", ".join(f"{k}={v}" for k, v in sorted(tags.items())) or "none"])
    return Report(
        "Buckets of the emulated account",
        "info",
        f"{len(rows)} bucket(s)",
        facts={"buckets": [row[0] for row in rows]},
        tables=[Table(["bucket", "region", "objects", "tags"], rows)],
    )


def delete_bucket(name: str, environment: str = "dev") -> Report:
    """Delete an empty bucket; one that holds objects is refused (nothing is lost from the console)."""
    ctx = context(environment)
    s3 = ctx.target.client("s3")
    try:
        count = s3.list_object_versions(Bucket=name)
    except ClientError as error:
        raise RunbookError(f"delete bucket {name}", f"it cannot be read ({_code(error)})", "check the name") from None
    held = len(count.get("Versions", [])) + len(count.get("DeleteMarkers", []))
    if held:
        raise RunbookError(
            f"delete bucket {name}",
            f"it holds {held} object version(s): deleting it would lose them; nothing was changed",
            "find out whose data it is first; the training console deletes empty buckets only",
        )
    s3.delete_bucket(Bucket=name)
    return Report(f"Delete bucket {name}", "changed", f"deleted the empty bucket {name}", facts={"deleted": name})
