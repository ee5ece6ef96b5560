"""Prerequisite checks → one row each: what, found, required, ok, how to fix."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from importlib import metadata

from botocore.exceptions import BotoCoreError, ClientError

from . import versions
from .context import StageContext
from .errors import PrerequisiteError
from .results import Report, Table
from .terraform import INSTALL_HELP

AWS_CLI_HELP = (
    "macOS `brew install awscli`; Linux: download awscli-exe-linux-x86_64.zip from awscli.amazonaws.com, "
    "unzip, `sudo ./aws/install`; Windows `msiexec.exe /i https://awscli.amazonaws.com/AWSCLIV2.msi`"
)
CREDENTIALS_HELP = (
    "run `aws configure` (access key, secret key, region ap-northeast-2, output json) or "
    "`aws sso login --profile NAME`; check with `aws sts get-caller-identity`"
)
PYTHON_PACKAGES = ("boto3", "papermill", "python-terraform", "ipywidgets", "jupyterlab", "nbval")


@dataclass
class Check:
    name: str
    found: str
    required: str
    ok: bool
    fix: str = ""
    blocking: bool = True


def check_terraform(ctx: StageContext) -> Check:
    required = versions.required_version(ctx.stack_dir) or "any"
    binary = shutil.which("terraform")
    if binary is None:
        return Check("Terraform", "not found", required, False, INSTALL_HELP)
    found = versions.installed_version(binary)
    ok = required == "any" or versions.satisfies(found, required)
    return Check("Terraform", f"{versions.format_version(found)} ({binary})", required, ok, "" if ok else INSTALL_HELP)


def check_aws_cli() -> Check:
    binary = shutil.which("aws")
    found = binary or "not found"
    return Check(
        "AWS CLI (informational)", found, "aws-cli/2.x", binary is not None, "" if binary else AWS_CLI_HELP, False
    )


def check_python_packages() -> Check:
    found, missing = [], []
    for name in PYTHON_PACKAGES:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            missing.append(name)
    fix = f"pip install {' '.join(missing)} (or `make demo`, which installs everything)" if missing else ""
    return Check("Python packages", ", ".join(found), ", ".join(PYTHON_PACKAGES), not missing, fix)


def check_credentials(ctx: StageContext) -> tuple[Check, dict[str, str]]:
    try:
        identity = ctx.target.client("sts").get_caller_identity()
    except (ClientError, BotoCoreError) as error:
        return Check(
            "AWS credentials (STS GetCallerIdentity)", f"failed: {error}", "a valid identity", False, CREDENTIALS_HELP
        ), {}
    facts = {key: identity[key] for key in ("Account", "Arn", "UserId")}
    return Check(
        "AWS credentials (STS GetCallerIdentity)",
        f"{facts['Arn']} (account {facts['Account']})",
        "a valid identity",
        True,
    ), facts


def check_account(ctx: StageContext, account: str) -> Check:
    expected = ctx.settings.account_id
    if not expected:
        return Check("AWS account", account or "unknown", "any (account_id not set)", True, blocking=False)
    ok = account == expected or ctx.target.is_local
    fix = (
        ""
        if ok
        else (
            f"these credentials belong to account {account}, but environments/{ctx.environment}/runbook.toml expects "
            f"{expected}: switch profile (AWS_PROFILE) or fix account_id"
        )
    )
    return Check("AWS account", account, expected, ok, fix)


def check_region(ctx: StageContext) -> Check:
    known = ctx.target.session().get_available_regions("ec2")
    ok = ctx.region in known
    fix = "" if ok else f"use one of: {', '.join(sorted(known))} (environments/{ctx.environment}/runbook.toml region)"
    return Check("Region", ctx.region, "a region of the aws partition", ok, fix)


def run(ctx: StageContext) -> Report:
    credentials, identity = check_credentials(ctx)
    checks = [
        check_terraform(ctx),
        check_aws_cli(),
        check_python_packages(),
        credentials,
        check_account(ctx, identity.get("Account", "")),
        check_region(ctx),
    ]
    failing = [c for c in checks if c.blocking and not c.ok]
    rows = [[c.name, c.found, c.required, "ok" if c.ok else ("fail" if c.blocking else "warn"), c.fix] for c in checks]
    report = Report(
        "Prerequisites",
        "fail" if failing else "ok",
        f"{len(checks) - len(failing)} of {len(checks)} checks passed",
        facts={"account": identity.get("Account", ""), "failed": [c.name for c in failing]},
        tables=[Table(["check", "found", "required", "status", "how to fix"], rows)],
    )
    ctx.record(report)
    if failing:
        raise PrerequisiteError(
            "check prerequisites",
            "; ".join(f"{c.name}: {c.found}" for c in failing),
            " | ".join(c.fix for c in failing),
            details=str(report),
        )
    return report
