"""The S3 state bucket: created in the environment's region, versioned, encrypted by default (SSE-KMS with a
bucket key, or AES256), all four public access blocks on, TLS-only (a Deny on aws:SecureTransport = false,
merged into the bucket policy's other statements) and tagged; each setting read back as a ``Setting``.

A bucket of the same name in another account is refused, never used (HeadBucket with ExpectedBucketOwner).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from . import aws_errors, hints
from .backend_settings import AWS_FIX, TAGS, Setting, WriteLog, tag_list, tags_setting
from .errors import BackendError

if TYPE_CHECKING:
    from .context import StageContext

PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
TLS_STATEMENT_SID = "DenyInsecureTransport"
EMULATOR_TLS_SKIP = (
    "not applied on the emulator: it speaks plain HTTP and moto evaluates bucket policies without their "
    "conditions, so this Deny would refuse every request; applied and verified on target aws"
)


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
        configuration: dict[str, Any] = {"Tags": tag_list(TAGS)}
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
        return Setting("bucket", "versioning", "Enabled", status, status == "Enabled", settling=status != "Suspended")

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
        return tags_setting("bucket", {tag["Key"]: tag["Value"] for tag in (response or {}).get("TagSet", [])})

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
            self.s3.put_bucket_tagging(Bucket=self.name, Tagging={"TagSet": tag_list(merged)})

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
