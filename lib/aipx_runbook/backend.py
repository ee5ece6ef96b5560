"""The Terraform state backend: the S3 state bucket and the DynamoDB lock table.

``ensure`` creates what is missing, verifies every setting after creation, and reports an existing
resource that is not compliant (drift) instead of silently changing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from .context import StageContext
from .errors import BackendError
from .results import Report, Table

PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}


@dataclass
class Check:
    resource: str
    setting: str
    compliant: bool
    action: str = ""


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class StateBucket:
    def __init__(self, ctx: StageContext) -> None:
        self.ctx = ctx
        self.name = ctx.settings.state_bucket
        self.s3 = ctx.target.client("s3")

    def exists(self) -> bool:
        try:
            self.s3.head_bucket(Bucket=self.name)
            return True
        except ClientError as error:
            code = _error_code(error)
            if code in ("404", "NoSuchBucket", "NotFound"):
                return False
            if code in ("403", "AccessDenied", "Forbidden"):
                raise BackendError(
                    f"check the state bucket s3://{self.name}",
                    "the bucket exists but these credentials may not use it: it belongs to another account, "
                    "or this identity lacks s3:ListBucket on it",
                    "choose another bucket name in environments/<env>/runbook.toml [backend] bucket "
                    "(bucket names are global), or use credentials of the owning account",
                ) from error
            raise

    def create(self) -> None:
        options: dict[str, Any] = {"Bucket": self.name}
        if self.ctx.region != "us-east-1":
            options["CreateBucketConfiguration"] = {"LocationConstraint": self.ctx.region}
        self.s3.create_bucket(**options)

    def checks(self) -> list[Check]:
        return [
            Check("bucket", "versioning enabled", self._versioning_enabled()),
            Check("bucket", "default encryption", self._encrypted()),
            Check("bucket", "public access blocked (all four flags)", self._public_access_blocked()),
        ]

    def _versioning_enabled(self) -> bool:
        return self.s3.get_bucket_versioning(Bucket=self.name).get("Status") == "Enabled"

    def _encrypted(self) -> bool:
        try:
            rules = self.s3.get_bucket_encryption(Bucket=self.name)["ServerSideEncryptionConfiguration"]["Rules"]
        except ClientError as error:
            if _error_code(error) == "ServerSideEncryptionConfigurationNotFoundError":
                return False
            raise
        wanted = self.ctx.settings.bucket_encryption
        return any(rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == wanted for rule in rules)

    def _public_access_blocked(self) -> bool:
        try:
            config = self.s3.get_public_access_block(Bucket=self.name)["PublicAccessBlockConfiguration"]
        except ClientError as error:
            if _error_code(error) == "NoSuchPublicAccessBlockConfiguration":
                return False
            raise
        return all(config.get(flag) for flag in PUBLIC_ACCESS_BLOCK)

    def apply_settings(self) -> None:
        self.s3.put_bucket_versioning(Bucket=self.name, VersioningConfiguration={"Status": "Enabled"})
        default: dict[str, Any] = {"SSEAlgorithm": self.ctx.settings.bucket_encryption}
        rule: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": default}
        if default["SSEAlgorithm"] == "aws:kms":
            rule["BucketKeyEnabled"] = True
        self.s3.put_bucket_encryption(Bucket=self.name, ServerSideEncryptionConfiguration={"Rules": [rule]})
        self.s3.put_public_access_block(Bucket=self.name, PublicAccessBlockConfiguration=PUBLIC_ACCESS_BLOCK)


class LockTable:
    def __init__(self, ctx: StageContext) -> None:
        self.ctx = ctx
        self.name = ctx.settings.lock_table
        self.dynamodb = ctx.target.client("dynamodb")

    def describe(self) -> dict[str, Any] | None:
        try:
            return self.dynamodb.describe_table(TableName=self.name)["Table"]
        except ClientError as error:
            if _error_code(error) == "ResourceNotFoundException":
                return None
            raise

    def create(self) -> None:
        self.dynamodb.create_table(
            TableName=self.name,
            AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
            SSESpecification={"Enabled": True},
        )
        self.dynamodb.get_waiter("table_exists").wait(TableName=self.name, WaiterConfig={"Delay": 1})

    def checks(self) -> list[Check]:
        table = self.describe() or {}
        key = table.get("KeySchema", [])
        return [
            Check("lock table", "hash key LockID (string)", key == [{"AttributeName": "LockID", "KeyType": "HASH"}]),
            Check("lock table", "status ACTIVE", table.get("TableStatus") == "ACTIVE"),
        ]


def ensure(ctx: StageContext, fix_drift: bool = False) -> Report:
    """Create the state bucket and lock table if missing; verify both; report drift."""
    bucket = StateBucket(ctx)
    checks: list[Check] = []
    created: list[str] = []
    if not bucket.exists():
        bucket.create()
        bucket.apply_settings()
        created.append(f"s3://{bucket.name}")
    bucket_checks = bucket.checks()
    drift = [c for c in bucket_checks if not c.compliant]
    if drift and fix_drift:
        bucket.apply_settings()
        for check in drift:
            check.action = "fixed"
        bucket_checks = bucket.checks()
    checks += bucket_checks

    if ctx.settings.locking in ("dynamodb", "both"):
        table = LockTable(ctx)
        if table.describe() is None:
            table.create()
            created.append(f"dynamodb:{table.name}")
        checks += table.checks()

    failing = [c for c in checks if not c.compliant]
    rows = [[c.resource, c.setting, "ok" if c.compliant else "fail"] for c in checks]
    report = Report(
        "Terraform state backend",
        "fail" if failing else ("changed" if created else "ok"),
        facts={"created": created, "drift": [c.setting for c in failing]},
        tables=[Table(["resource", "setting", "status"], rows)],
    )
    if failing:
        report.summary = "not compliant: " + "; ".join(f"{c.resource} {c.setting}" for c in failing)
        ctx.record(report)
        raise BackendError(
            "verify the state backend",
            report.summary,
            "rerun this stage with fix_drift=True to apply the missing settings (nothing else is changed)",
            details=str(report),
        )
    report.summary = "created " + ", ".join(created) if created else "already compliant; nothing changed"
    return ctx.record(report)
