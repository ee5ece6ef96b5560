"""The Terraform state backend: the S3 state bucket and the DynamoDB lock table.

``ensure`` checks the account first, creates what is missing with every setting, then reads each setting
back. An existing resource that lacks a setting is reported as drift and changed only with ``fix_drift``.
Every API call that writes is logged as botocore sends it, so a rerun can show it changed nothing.

Two runs may bootstrap the same backend at once (two CI jobs): a create that loses the race
(BucketAlreadyOwnedByYou, ResourceInUseException) carries on as if it had won, and a resource created
moments ago is read again until the run that created it has finished applying its settings.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from . import aws_errors, hints, prereqs, versions
from .context import StageContext
from .errors import BackendError
from .results import Report, Table

TAGS = {"Project": "aipx", "ManagedBy": "aipx-runbook", "Purpose": "terraform-state"}
PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
TLS_STATEMENT_SID = "DenyInsecureTransport"
LOCK_KEY = [{"AttributeName": "LockID", "KeyType": "HASH"}]
# How long after its creation a resource may still be mid-bootstrap by a concurrent run.
SETTLE_SECONDS = 30.0
READ_ONLY_OPERATIONS = ("Get", "Head", "List", "Describe")
EMULATOR_TLS_SKIP = (
    "not applied on the emulator: it speaks plain HTTP and moto evaluates bucket policies without their "
    "conditions, so this Deny would refuse every request; applied and verified on target aws"
)
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


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def _missing_tags(found: dict[str, str]) -> list[str]:
    return [f"{key}={value}" for key, value in TAGS.items() if found.get(key) != value]


def _settle(read: Callable[[], list[Setting]], created_at: datetime | None) -> list[Setting]:
    """Read the settings again while a concurrent bootstrap may still be applying them (it cannot change
    what cannot be fixed in place, such as the region)."""
    settings = read()
    while created_at is not None and any(not s.compliant for s in settings):
        if any(not s.compliant and not s.fixable for s in settings):
            break
        if (datetime.now(UTC) - created_at).total_seconds() > SETTLE_SECONDS:
            break
        time.sleep(0.5)
        settings = read()
    return settings


def _apply_until_compliant(resource: StateBucket | LockTable) -> list[Setting]:
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


class StateBucket:
    def __init__(self, ctx: StageContext, account: str, log: WriteLog) -> None:
        self.ctx = ctx
        self.account = account
        self.name = ctx.settings.state_bucket
        self.s3 = log.watch(ctx.target.client("s3"))
        partition = ctx.target.session().get_partition_for_region(ctx.region)
        self.arn = f"arn:{partition}:s3:::{self.name}"
        self.label = f"s3://{self.name}"

    def _foreign(self, detail: str) -> BackendError:
        return BackendError(
            f"check the state bucket s3://{self.name}",
            f"{hints.foreign_bucket_meaning(self.name)} ({detail}); nothing was created",
            hints.FOREIGN_BUCKET_FIX,
        )

    def exists(self) -> bool:
        """True when this account owns the bucket; False when no account does; raises for another account's."""
        try:
            self.s3.head_bucket(Bucket=self.name, ExpectedBucketOwner=self.account)
            return True
        except ClientError as error:
            code = aws_errors.code(error)
            if code in ("404", "NoSuchBucket", "NotFound"):
                return False
            if code in ("403", "AccessDenied", "Forbidden"):
                raise self._forbidden() from error
            raise aws_errors.failure(f"check the state bucket s3://{self.name}", error, AWS_FIX) from error

    def _forbidden(self) -> BackendError:
        """HeadBucket's 403: another account's bucket, unless this account's own bucket list holds it."""
        if self.created_at() is None:
            return self._foreign(f"HeadBucket answered 403 Forbidden to account {self.account}")
        return BackendError(
            f"check the state bucket s3://{self.name}",
            f"the bucket belongs to this account ({self.account}), but HeadBucket answered 403 Forbidden: this "
            "identity lacks s3:ListBucket on it",
            "grant s3:ListBucket, s3:GetObject and s3:PutObject on the bucket (and the s3:GetBucket*/PutBucket* "
            "settings stage 01 reads), then rerun stage 01",
        )

    def create(self) -> bool:
        """Create the bucket in the region, tagged; False when a concurrent run created it a moment before."""
        configuration: dict[str, Any] = {"Tags": _tag_list(TAGS)}
        if self.ctx.region != "us-east-1":
            configuration["LocationConstraint"] = self.ctx.region
        try:
            self.s3.create_bucket(Bucket=self.name, CreateBucketConfiguration=configuration)
        except ClientError as error:
            if aws_errors.code(error) == "BucketAlreadyOwnedByYou":
                return False
            if aws_errors.code(error) == "BucketAlreadyExists":
                raise self._foreign(f"CreateBucket answered {aws_errors.code(error)}") from error
            raise aws_errors.failure(f"create the state bucket s3://{self.name}", error, AWS_FIX) from error
        return True

    def wait_ready(self) -> None:
        self.s3.get_waiter("bucket_exists").wait(Bucket=self.name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})

    def created_at(self) -> datetime | None:
        try:
            buckets = self.s3.list_buckets(Prefix=self.name)["Buckets"]
        except ClientError:
            return None
        return next((b["CreationDate"] for b in buckets if b["Name"] == self.name), None)

    def _read(self, call: Callable[..., Any], missing_code: str) -> Any:
        try:
            return call(Bucket=self.name)
        except ClientError as error:
            if aws_errors.code(error) == missing_code:
                return None
            raise

    def settings(self) -> list[Setting]:
        return [
            self._region(),
            self._versioning(),
            self._encryption(),
            self._public_access_block(),
            self._tls_policy(),
            self._tags(),
        ]

    def _region(self) -> Setting:
        location = self.s3.get_bucket_location(Bucket=self.name).get("LocationConstraint") or "us-east-1"
        found = "eu-west-1" if location == "EU" else location
        return Setting("bucket", "region", self.ctx.region, found, found == self.ctx.region, fixable=False)

    def _versioning(self) -> Setting:
        status = self.s3.get_bucket_versioning(Bucket=self.name).get("Status") or "never enabled"
        return Setting("bucket", "versioning", "Enabled", status, status == "Enabled")

    def _wanted_encryption(self) -> str:
        return "aws:kms with bucket key" if self.ctx.settings.bucket_encryption == "aws:kms" else "AES256"

    def _encryption(self) -> Setting:
        config = self._read(self.s3.get_bucket_encryption, "ServerSideEncryptionConfigurationNotFoundError")
        rules = config["ServerSideEncryptionConfiguration"]["Rules"] if config else []
        found = "none"
        for rule in rules:
            algorithm = rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"]
            bucket_key = algorithm == "aws:kms" and rule.get("BucketKeyEnabled")
            found = f"{algorithm} with bucket key" if bucket_key else algorithm
        wanted = self._wanted_encryption()
        return Setting("bucket", "default encryption", wanted, found, found == wanted)

    def _public_access_block(self) -> Setting:
        response = self._read(self.s3.get_public_access_block, "NoSuchPublicAccessBlockConfiguration")
        config = response["PublicAccessBlockConfiguration"] if response else {}
        off = [flag for flag in PUBLIC_ACCESS_BLOCK if not config.get(flag)]
        found = "all four on" if not off else ("none" if not config else "off: " + ", ".join(off))
        return Setting("bucket", "public access block", "all four on", found, not off)

    def _policy(self) -> dict[str, Any]:
        response = self._read(self.s3.get_bucket_policy, "NoSuchBucketPolicy")
        return json.loads(response["Policy"]) if response else {"Version": "2012-10-17", "Statement": []}

    def _denies_insecure_transport(self, statement: dict[str, Any]) -> bool:
        actions = statement.get("Action", [])
        resources = statement.get("Resource", [])
        condition = statement.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport")
        return (
            statement.get("Effect") == "Deny"
            and statement.get("Principal") in ("*", {"AWS": "*"})
            and "s3:*" in ([actions] if isinstance(actions, str) else actions)
            and {self.arn, f"{self.arn}/*"} <= set([resources] if isinstance(resources, str) else resources)
            and str(condition).lower() == "false"
        )

    def _tls_policy(self) -> Setting:
        wanted = "deny aws:SecureTransport=false"
        if self.ctx.target.is_local:
            return Setting("bucket", "TLS-only policy", wanted, EMULATOR_TLS_SKIP, True, skipped=True)
        statements = self._policy()["Statement"]
        found = next((s.get("Sid", "(no Sid)") for s in statements if self._denies_insecure_transport(s)), "")
        others = len(statements) - (1 if found else 0)
        text = f"statement {found}" if found else "missing"
        return Setting("bucket", "TLS-only policy", wanted, f"{text}, {others} other(s)", bool(found))

    def _tags(self) -> Setting:
        response = self._read(self.s3.get_bucket_tagging, "NoSuchTagSet")
        found = {tag["Key"]: tag["Value"] for tag in (response or {}).get("TagSet", [])}
        missing = _missing_tags(found)
        return Setting(
            "bucket",
            "tags",
            ", ".join(f"{k}={v}" for k, v in TAGS.items()),
            "missing: " + ", ".join(missing) if missing else "present",
            not missing,
        )

    def apply(self, names: set[str]) -> None:
        """Apply the named settings, each merged with what the bucket holds (policy statements, tags)."""
        if "versioning" in names:
            self.s3.put_bucket_versioning(Bucket=self.name, VersioningConfiguration={"Status": "Enabled"})
        if "default encryption" in names:
            algorithm = self.ctx.settings.bucket_encryption
            rule: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": algorithm}}
            if algorithm == "aws:kms":
                rule["BucketKeyEnabled"] = True
            self.s3.put_bucket_encryption(Bucket=self.name, ServerSideEncryptionConfiguration={"Rules": [rule]})
        if "public access block" in names:
            self.s3.put_public_access_block(Bucket=self.name, PublicAccessBlockConfiguration=PUBLIC_ACCESS_BLOCK)
        if "TLS-only policy" in names:
            self._merge_tls_statement()
        if "tags" in names:
            response = self._read(self.s3.get_bucket_tagging, "NoSuchTagSet")
            merged = {tag["Key"]: tag["Value"] for tag in (response or {}).get("TagSet", [])} | TAGS
            self.s3.put_bucket_tagging(Bucket=self.name, Tagging={"TagSet": _tag_list(merged)})

    def _merge_tls_statement(self) -> None:
        policy = self._policy()
        statements = policy.setdefault("Statement", [])
        if any(self._denies_insecure_transport(s) for s in statements):
            return
        taken = {s.get("Sid") for s in statements}
        sid = TLS_STATEMENT_SID if TLS_STATEMENT_SID not in taken else f"{TLS_STATEMENT_SID}AipxRunbook"
        statements.append(
            {
                "Sid": sid,
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [self.arn, f"{self.arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        )
        self.s3.put_bucket_policy(Bucket=self.name, Policy=json.dumps(policy))


class LockTable:
    def __init__(self, ctx: StageContext, log: WriteLog) -> None:
        self.ctx = ctx
        self.name = ctx.settings.lock_table
        self.label = f"dynamodb:{self.name}"
        self.dynamodb = log.watch(ctx.target.client("dynamodb"))

    def exists(self) -> bool:
        return self.describe() is not None

    def describe(self) -> dict[str, Any] | None:
        try:
            return self.dynamodb.describe_table(TableName=self.name)["Table"]
        except ClientError as error:
            if aws_errors.code(error) == "ResourceNotFoundException":
                return None
            raise aws_errors.failure(f"read the lock table {self.name}", error, AWS_FIX) from error

    def create(self) -> bool:
        """Create the table (on-demand, SSE, tagged); False when a concurrent run created it a moment before."""
        try:
            self.dynamodb.create_table(
                TableName=self.name,
                AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
                KeySchema=LOCK_KEY,
                BillingMode="PAY_PER_REQUEST",
                SSESpecification={"Enabled": True, "SSEType": "KMS"},
                Tags=_tag_list(TAGS),
            )
        except ClientError as error:
            if aws_errors.code(error) == "ResourceInUseException":
                return False
            raise aws_errors.failure(f"create the lock table {self.name}", error, AWS_FIX) from error
        return True

    def wait_ready(self) -> None:
        self.dynamodb.get_waiter("table_exists").wait(
            TableName=self.name, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
        )

    def created_at(self) -> datetime | None:
        table = self.describe() or {}
        return table.get("CreationDateTime")

    def settings(self) -> list[Setting]:
        table = self.describe() or {}
        attributes = {a["AttributeName"]: a["AttributeType"] for a in table.get("AttributeDefinitions", [])}
        key_ok = table.get("KeySchema") == LOCK_KEY and attributes.get("LockID") == "S"
        key = ", ".join(
            f"{k['AttributeName']} ({attributes.get(k['AttributeName'], '?')})" for k in table.get("KeySchema", [])
        )
        billing = table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
        sse = table.get("SSEDescription", {})
        sse_found = f"{sse.get('SSEType', 'KMS')} {sse['Status']}" if sse else "AWS owned key only (default)"
        pitr = self._point_in_time_recovery()
        tags = self._tags(table.get("TableArn", ""))
        missing = _missing_tags(tags)
        return [
            Setting("lock table", "hash key", "LockID (S)", key or "none", key_ok, fixable=False),
            Setting(
                "lock table",
                "status",
                "ACTIVE",
                table.get("TableStatus", "missing"),
                table.get("TableStatus") == "ACTIVE",
                fixable=False,
            ),
            Setting("lock table", "billing mode", "PAY_PER_REQUEST", billing, billing == "PAY_PER_REQUEST"),
            Setting(
                "lock table",
                "server-side encryption",
                "KMS ENABLED",
                sse_found,
                sse.get("Status") in ("ENABLED", "ENABLING"),
            ),
            Setting("lock table", "point-in-time recovery", "ENABLED", pitr, pitr == "ENABLED"),
            Setting(
                "lock table",
                "tags",
                ", ".join(f"{k}={v}" for k, v in TAGS.items()),
                "missing: " + ", ".join(missing) if missing else "present",
                not missing,
            ),
        ]

    def _point_in_time_recovery(self) -> str:
        backups = self.dynamodb.describe_continuous_backups(TableName=self.name)["ContinuousBackupsDescription"]
        return backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus", "DISABLED")

    def _tags(self, arn: str) -> dict[str, str]:
        if not arn:
            return {}
        return {t["Key"]: t["Value"] for t in self.dynamodb.list_tags_of_resource(ResourceArn=arn).get("Tags", [])}

    def apply(self, names: set[str]) -> None:
        if "billing mode" in names:
            self.dynamodb.update_table(TableName=self.name, BillingMode="PAY_PER_REQUEST")
            self.wait_ready()
        if "server-side encryption" in names:
            self.dynamodb.update_table(TableName=self.name, SSESpecification={"Enabled": True, "SSEType": "KMS"})
            self.wait_ready()
        if "point-in-time recovery" in names:
            self._enable_point_in_time_recovery()
        if "tags" in names:
            arn = (self.describe() or {})["TableArn"]
            self.dynamodb.tag_resource(ResourceArn=arn, Tags=_tag_list(TAGS))

    def _enable_point_in_time_recovery(self) -> None:
        """AWS refuses it for a short while after a table becomes ACTIVE (ContinuousBackupsUnavailable)."""
        deadline = time.monotonic() + 120
        while True:
            try:
                self.dynamodb.update_continuous_backups(
                    TableName=self.name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
                )
                return
            except ClientError as error:
                if aws_errors.code(error) != "ContinuousBackupsUnavailableException" or time.monotonic() > deadline:
                    raise
                time.sleep(5)


def _lockfile_setting() -> Setting:
    binary = shutil.which("terraform")
    version = versions.installed_version(binary) if binary else None
    found = versions.format_version(version) if version else "not found"
    ok = version is not None and version >= (1, 10, 0)
    return Setting("terraform", "S3-native locking (use_lockfile)", ">= 1.10", found, ok, fixable=False)


def _bootstrap(resource: StateBucket | LockTable, fix_drift: bool) -> tuple[list[Setting], str]:
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


def ensure(ctx: StageContext, fix_drift: bool = False) -> Report:
    """Create the state bucket and lock table if missing; verify every setting; report drift."""
    identity = prereqs.guard_account(ctx)
    lockfile = [_lockfile_setting()] if ctx.settings.locking in ("lockfile", "both") else []
    if lockfile and not lockfile[0].compliant:
        raise BackendError(
            "check S3-native locking",
            f'locking = "{ctx.settings.locking}" uses use_lockfile, which needs Terraform >= 1.10; found '
            f"{lockfile[0].found}; nothing was created",
            'install Terraform >= 1.10 (`make terraform`), or set locking = "dynamodb" in '
            f"environments/{ctx.environment}/runbook.toml",
        )
    log = WriteLog()
    resources: list[StateBucket | LockTable] = [StateBucket(ctx, identity["Account"], log)]
    if ctx.settings.locking in ("dynamodb", "both"):
        resources.append(LockTable(ctx, log))
    settings: list[Setting] = []
    outcomes: dict[str, str] = {}
    try:
        for resource in resources:
            resource_settings, outcomes[resource.label] = _bootstrap(resource, fix_drift)
            settings += resource_settings
    except (ClientError, BotoCoreError) as error:
        raise aws_errors.failure("set up the state backend", error, AWS_FIX) from error
    return _report(ctx, settings + lockfile, outcomes, log.calls, fix_drift)


def _report(
    ctx: StageContext, settings: list[Setting], outcomes: dict[str, str], writes: list[str], fix_drift: bool
) -> Report:
    failing = [s for s in settings if not s.compliant]
    rows = [[s.resource, s.name, s.wanted, s.found, s.status, s.action] for s in settings]
    created = [label for label, outcome in outcomes.items() if outcome in ("created", "completed")]
    fixed = [f"{s.resource} {s.name}" for s in settings if s.action.startswith("fixed")]
    report = Report(
        "Terraform state backend",
        "fail" if failing else ("changed" if writes else "ok"),
        facts={
            "created": created,
            "fixed": fixed,
            "not_compliant": [f"{s.resource} {s.name}" for s in failing],
            "write_calls": len(writes),
        },
        tables=[Table(["resource", "setting", "wanted", "found", "status", "action"], rows)],
    )
    report.notes.append(
        f"state s3://{ctx.settings.state_bucket}/{ctx.settings.state_key}; locking: {ctx.settings.locking}"
    )
    if ctx.settings.locking == "dynamodb":
        report.notes.append(
            'Terraform 1.11 deprecates DynamoDB locking: to move to S3-native locking, set locking = "both" in '
            f'environments/{ctx.environment}/runbook.toml, run stages 01 and 02, and switch to "lockfile" once '
            "everyone runs Terraform >= 1.10"
        )
    report.notes.append("API calls that wrote: " + (", ".join(writes) if writes else "none"))
    if failing:
        report.summary = "not compliant: " + "; ".join(
            f"{s.resource} {s.name} (wanted {s.wanted}, found {s.found})" for s in failing
        )
        ctx.record(report)
        raise BackendError(
            "verify the state backend", report.summary, _drift_fix(ctx, failing, fix_drift), details=str(report)
        )
    parts = [f"{outcomes[label]} {label}" for label in created]
    if fixed:
        parts.append("fixed " + ", ".join(fixed))
    report.summary = "; ".join(parts) + "; every setting verified" if parts else "already compliant; nothing changed"
    return ctx.record(report)


def _drift_fix(ctx: StageContext, failing: list[Setting], fix_drift: bool) -> str:
    fixed_in_place = [s for s in failing if s.fixable]
    already_applied = fix_drift or any(s.action.startswith("set") for s in fixed_in_place)
    if fixed_in_place and not already_applied:
        return (
            "review the settings above, then rerun this stage with fix_drift=True (papermill -p fix_drift True; "
            "aipx-runbook run --stages backend -p fix_drift=True): it applies only the missing settings and "
            "keeps the bucket policy's other statements and the other tags"
        )
    if fixed_in_place:
        return (
            "AWS did not apply "
            + ", ".join(f"{s.resource} {s.name}" for s in fixed_in_place)
            + ": check this identity's permissions (s3:Put*, dynamodb:UpdateTable, dynamodb:UpdateContinuousBackups)"
        )
    return (
        "these settings cannot change in place (region, key schema): choose another bucket or table name in "
        f"environments/{ctx.environment}/runbook.toml [backend], then rerun stage 01"
    )
