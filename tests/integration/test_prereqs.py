"""Stage 00 and the account guard, against the moto server over HTTP.

Target aws is exercised against the moto server too: botocore honours AWS_ENDPOINT_URL, so the real credential
chain and STS calls run, and only the endpoint is the emulator's. Credentials of a second account come from a
real STS AssumeRole on moto, which answers as the account the role ARN names.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from aipx_runbook import accounts, config, prereqs, stages
from aipx_runbook.aws import LOCAL_ACCOUNT_ID, AwsTarget
from aipx_runbook.context import StageContext, open_stage
from aipx_runbook.errors import PrerequisiteError

pytestmark = pytest.mark.integration
OTHER_ACCOUNT = "210987654321"
REGION = "ap-northeast-2"


def _local(endpoint: str, run_dir: Path, region: str = REGION, stack: str = "smoke") -> StageContext:
    """A local stage on the given moto server, built directly rather than through open_stage's emulator lookup."""
    run_dir.mkdir(parents=True, exist_ok=True)
    label, folder = config.resolve_stack(stack)
    target = AwsTarget("local", region, endpoint)
    return StageContext("prerequisites", config.load_environment("dev"), target, label, folder, run_dir)


def _rows(report) -> dict[str, list]:
    return {row[0]: row for row in report.tables[0].rows}


def _role_credentials(endpoint: str, account: str) -> dict[str, str]:
    sts = boto3.client(
        "sts", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    role = f"arn:aws:iam::{account}:role/terraform-admin"
    credentials = sts.assume_role(RoleArn=role, RoleSessionName="runbook-test")["Credentials"]
    return {
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
    }


def _isolate_credentials(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """No credential source of this machine leaks in: no keys, no profile files, no instance metadata."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def _aws_target(monkeypatch: pytest.MonkeyPatch, endpoint: str, credentials: dict[str, str], run_dir: Path):
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    for name, value in credentials.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return open_stage("backend", "dev", target="aws", stack="smoke", run_dir=str(run_dir))


def _all_buckets_and_tables(endpoint: str, credentials: dict[str, str]) -> tuple[list[str], list[str]]:
    options = {"endpoint_url": endpoint, "region_name": REGION, **{k.lower(): v for k, v in credentials.items()}}
    buckets = [b["Name"] for b in boto3.client("s3", **options).list_buckets()["Buckets"]]
    return buckets, boto3.client("dynamodb", **options).list_tables()["TableNames"]


def test_prerequisites_on_local_pass_with_one_row_per_check(moto_server, tmp_path) -> None:
    ctx = _local(moto_server, tmp_path)
    report = stages.prerequisites(ctx)
    rows = _rows(report)
    assert set(rows) == {
        "Terraform (smoke stack)",
        "AWS CLI (informational: the runbook uses boto3)",
        "Python packages",
        "AWS credentials (STS GetCallerIdentity)",
        "AWS account guard",
        "Region",
    }
    assert rows["AWS credentials (STS GetCallerIdentity)"][3] == "ok"
    assert f"account {LOCAL_ACCOUNT_ID}" in rows["AWS credentials (STS GetCallerIdentity)"][1]
    assert "user id" in rows["AWS credentials (STS GetCallerIdentity)"][1]
    # moto's user id is its access key ID; it is shown shortened, never whole
    assert "user id AKIA…MPLE" in rows["AWS credentials (STS GetCallerIdentity)"][1]
    assert "AKIAIOSFODNN7EXAMPLE" not in str(report) + report._repr_html_() + str(report.facts)
    assert rows["AWS account guard"][1:4] == [LOCAL_ACCOUNT_ID, LOCAL_ACCOUNT_ID, "ok"]
    assert rows["Region"][1:4] == [
        "ap-northeast-2 (aws; the emulator has no opt-in regions)",
        "a region of the aws partition, enabled for the account",
        "ok",
    ]
    assert report.facts["account"] == LOCAL_ACCOUNT_ID and report.facts["failed"] == []
    recorded = json.loads((tmp_path / "stages" / "prerequisites.json").read_text())
    assert recorded["facts"]["account"] == LOCAL_ACCOUNT_ID


def test_the_guard_on_local_stops_naming_both_accounts_and_nothing_is_created(moto_server, reset_emulator, tmp_path):
    ctx = _local(moto_server, tmp_path)
    ctx.settings = dataclasses.replace(ctx.settings, local_account_id="111122223333")
    with pytest.raises(PrerequisiteError) as caught:
        stages.prerequisites(ctx)
    assert "111122223333" in caught.value.fix and LOCAL_ACCOUNT_ID in caught.value.fix
    with pytest.raises(PrerequisiteError) as caught:
        stages.backend_setup(ctx)
    assert f"belong to account {LOCAL_ACCOUNT_ID}" in caught.value.why
    assert "local_account_id in environments/dev/runbook.toml is 111122223333" in caught.value.why
    assert "nothing was created" in caught.value.why
    assert ctx.target.client("s3").list_buckets()["Buckets"] == []
    assert ctx.target.client("dynamodb").list_tables()["TableNames"] == []


def test_the_guard_on_target_aws_stops_before_creating_anything(moto_server, reset_emulator, tmp_path, monkeypatch):
    credentials = _role_credentials(moto_server, OTHER_ACCOUNT)
    ctx = _aws_target(monkeypatch, moto_server, credentials, tmp_path)
    ctx.settings = dataclasses.replace(ctx.settings, account_id=LOCAL_ACCOUNT_ID)
    with pytest.raises(PrerequisiteError) as caught:
        stages.backend_setup(ctx)
    assert f"belong to account {OTHER_ACCOUNT}" in caught.value.why
    assert f"account_id in environments/dev/runbook.toml is {LOCAL_ACCOUNT_ID}" in caught.value.why
    assert "assumed-role/terraform-admin" in caught.value.why
    assert _all_buckets_and_tables(moto_server, credentials) == ([], [])

    ctx.settings = dataclasses.replace(ctx.settings, account_id=OTHER_ACCOUNT)
    report = stages.backend_setup(ctx)
    assert report.facts["created"] == ["s3://aipx-terraform-state", "dynamodb:aipx-terraform-locks"]
    assert _all_buckets_and_tables(moto_server, credentials) == (["aipx-terraform-state"], ["aipx-terraform-locks"])


def test_an_unset_account_id_on_target_aws_is_a_warning_that_says_what_to_set(moto_server, tmp_path, monkeypatch):
    ctx = _aws_target(
        monkeypatch, moto_server, {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "x"}, tmp_path
    )
    check = accounts.check_account(ctx, LOCAL_ACCOUNT_ID)
    assert (check.status, check.required) == ("warn", "any: not enforced")
    assert f'account_id = "{LOCAL_ACCOUNT_ID}"' in check.fix


def test_missing_credentials_list_the_sources_tried_and_what_to_run(moto_server, tmp_path, monkeypatch) -> None:
    _isolate_credentials(monkeypatch, tmp_path)
    ctx = open_stage("prerequisites", "dev", target="aws", stack="smoke", run_dir=str(tmp_path / "run"))
    check, identity = accounts.check_credentials(ctx)
    assert not check.ok and identity == {}
    assert check.found.startswith("no credentials for profile 'default'; tried: ")
    for source in ("environment variables", "SSO", "~/.aws/credentials", "~/.aws/config", "EC2 instance metadata"):
        assert source in check.found
    assert "aws configure" in check.fix and "aws sso login" in check.fix


CHECK_CREDENTIALS = """
import json
from aipx_runbook import accounts
from aipx_runbook.context import open_stage
check, _ = accounts.check_credentials(open_stage("prerequisites", "dev", target="aws", stack="smoke", run_dir="run"))
print(json.dumps({"ok": check.ok, "found": check.found, "fix": check.fix}))
"""


@pytest.mark.parametrize(
    ("expires_at", "reason"),
    [("2024-01-01T00:00:00Z", "Token has expired"), (None, "Token for aipx does not exist")],
    ids=["expired", "never-logged-in"],
)
def test_an_sso_profile_without_a_valid_session_says_to_log_in(moto_server, tmp_path, monkeypatch, expires_at, reason):
    _isolate_credentials(monkeypatch, tmp_path)
    (tmp_path / "config").write_text(
        "[profile aipx-sso]\nsso_session = aipx\nsso_account_id = 111122223333\nsso_role_name = TerraformAdmin\n"
        "region = ap-northeast-2\n[sso-session aipx]\nsso_start_url = https://aipx.awsapps.com/start\n"
        "sso_region = ap-northeast-2\nsso_registration_scopes = sso:account:access\n"
    )
    if expires_at:
        cache = tmp_path / ".aws" / "sso" / "cache"
        cache.mkdir(parents=True)
        # botocore names the cache file after the SHA-1 of the sso-session name.
        token = {
            "startUrl": "https://aipx.awsapps.com/start",
            "region": REGION,
            "accessToken": "x",
            "expiresAt": expires_at,
        }
        (cache / "8c61e094a3888258c88014d67fbd2e452fce2b72.json").write_text(json.dumps(token))
    monkeypatch.setenv("AWS_PROFILE", "aipx-sso")
    # A process of its own: botocore fixes the SSO cache folder from HOME when it is first imported.
    completed = subprocess.run(
        [sys.executable, "-c", CHECK_CREDENTIALS], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
    check = json.loads(completed.stdout.strip().splitlines()[-1])
    assert not check["ok"]
    assert "credentials from SSO (sso_session or sso_start_url in the profile) rejected" in check["found"]
    assert reason in check["found"]
    assert check["fix"].startswith("`aws sso login --profile aipx-sso`")


def test_a_profile_that_does_not_exist_says_how_to_create_it(moto_server, tmp_path, monkeypatch) -> None:
    _isolate_credentials(monkeypatch, tmp_path)
    ctx = open_stage("prerequisites", "dev", target="aws", stack="smoke", run_dir=str(tmp_path), profile="nobody")
    check, _ = accounts.check_credentials(ctx)
    assert not check.ok and "profile 'nobody' is not in" in check.found
    assert "aws configure --profile nobody" in check.fix


def test_on_target_aws_the_region_must_be_enabled_for_the_account(moto_server, tmp_path, monkeypatch) -> None:
    credentials = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "x"}
    ctx = _aws_target(monkeypatch, moto_server, credentials, tmp_path)
    check = prereqs.check_region(ctx)
    assert (check.ok, check.found) == (True, "ap-northeast-2 (aws, opt-in-not-required)")


def test_a_region_outside_the_partition_fails_with_the_known_regions(moto_server, tmp_path) -> None:
    ctx = _local(moto_server, tmp_path, region="ap-northeast-9")
    check = prereqs.check_region(ctx)
    assert not check.ok and "ap-northeast-2" in check.fix


def test_a_stack_that_needs_a_newer_terraform_fails_with_the_install_commands(moto_server, tmp_path) -> None:
    stack = tmp_path / "future"
    stack.mkdir()
    (stack / "versions.tf").write_text('terraform {\n  required_version = ">= 9.0.0"\n}\n')
    ctx = _local(moto_server, tmp_path / "run", stack=str(stack))
    check = prereqs.check_terraform(ctx)
    assert (check.ok, check.required) == (False, ">= 9.0.0")
    for command in ("brew install hashicorp/tap/terraform", "sudo apt install terraform", "choco install terraform"):
        assert command in check.fix


def test_python_packages_are_checked_against_the_declared_requirements() -> None:
    check = prereqs.check_python_packages()
    assert check.ok, check.fix
    assert "boto3<2,>=1.34" in check.required and "boto3 " in check.found
