"""The DynamoDB lock table: hash key LockID (S), on-demand billing, SSE with KMS, point-in-time recovery and
tags; each setting read back as a ``Setting``."""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from . import aws_errors
from .backend_settings import AWS_FIX, TAGS, Setting, WriteLog, tag_list, tags_setting

if TYPE_CHECKING:
    from .context import StageContext

LOCK_KEY = [{"AttributeName": "LockID", "KeyType": "HASH"}]


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
                Tags=tag_list(TAGS),
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
            tags_setting("lock table", self._tags(table.get("TableArn", ""))),
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
            self.dynamodb.tag_resource(ResourceArn=arn, Tags=tag_list(TAGS))

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
