"""Prerequisite checks → one row each: what, found, required, ok, how to fix; and the account guard.

The account guard runs before the first stage that creates anything: credentials of another account than
the environment's stop the run, naming both accounts. On target local it checks the account the emulator
answers as (``local_account_id``), so training runs exercise the same comparison.
"""

from __future__ import annotations

import platform
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError, ProfileNotFound
from packaging.requirements import Requirement

from . import hints, versions
from .context import StageContext
from .errors import PrerequisiteError
from .results import Report, Table
from .timings import measure
from .toolchain import install_help

if TYPE_CHECKING:  # boto3 is imported where a session is made: other stages never pay for it
    import boto3

PROJECT_DISTRIBUTION = "aipx-runbook"
ACCESS_KEY_ID = re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{12}([A-Z0-9]{4})\b")
AWS_CLI_FIX = {
    "Darwin": "macOS: `brew install awscli`",
    "Linux": "Linux: `curl https://awscli.amazonaws.com/awscli-exe-linux-x86_64.zip -o awscliv2.zip && "
    "unzip awscliv2.zip && sudo ./aws/install`",
    "Windows": "Windows: `msiexec.exe /i https://awscli.amazonaws.com/AWSCLIV2.msi`",
}
# botocore's credential providers, in the words of the AWS CLI documentation.
CREDENTIAL_SOURCES = {
    "env": "environment variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)",
    "assume-role": "a role_arn in the profile",
    "assume-role-with-web-identity": "a web identity token (AWS_WEB_IDENTITY_TOKEN_FILE)",
    "sso": "SSO (sso_session or sso_start_url in the profile)",
    "shared-credentials-file": "~/.aws/credentials",
    "login": "an `aws login` session",
    "custom-process": "credential_process in the profile",
    "config-file": "keys in ~/.aws/config",
    "ec2-credentials-file": "the EC2 credentials file",
    "boto-config": "a boto2 config file",
    "container-role": "container credentials (ECS, EKS)",
    "iam-role": "EC2 instance metadata",
    "explicit": "the emulator's dummy keys",
}


@dataclass
class Check:
    name: str
    found: str
    required: str
    ok: bool
    fix: str = ""
    blocking: bool = True

    @property
    def status(self) -> str:
        return "ok" if self.ok else ("fail" if self.blocking else "warn")


def _for_every_os(fixes: dict[str, str]) -> str:
    """All three systems' instructions, this machine's first."""
    here = platform.system()
    ordered = sorted(fixes, key=lambda system: system != here)
    return " | ".join(fixes[system] for system in ordered)


def check_terraform(ctx: StageContext) -> Check:
    required = versions.required_version(ctx.stack_dir) or "any"
    binary = shutil.which("terraform")
    if binary is None:
        return Check("Terraform", "not found on PATH", required, False, install_help())
    found = versions.installed_version(binary)
    ok = required == "any" or versions.satisfies(found, required)
    fix = "" if ok else "upgrade: " + install_help()
    return Check(f"Terraform ({ctx.stack} stack)", f"{versions.format_version(found)} ({binary})", required, ok, fix)


def check_aws_cli() -> Check:
    name, required = "AWS CLI (informational: the runbook uses boto3)", "aws-cli/2.x"
    binary = shutil.which("aws")
    if binary is None:
        return Check(name, "not found", required, False, _for_every_os(AWS_CLI_FIX), blocking=False)
    try:
        with measure("aws"):
            result = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=20)
        found = (result.stdout or result.stderr).strip().split(" ")[0] if result.returncode == 0 else ""
    except (OSError, subprocess.TimeoutExpired):
        found = ""
    if not found:
        return Check(name, f"{binary} does not run", required, False, _for_every_os(AWS_CLI_FIX), blocking=False)
    ok = found.startswith("aws-cli/2.")
    return Check(name, found, required, ok, "" if ok else _for_every_os(AWS_CLI_FIX), blocking=False)


def check_python_packages() -> Check:
    """Every dependency the runbook's package declares, installed at a version its specifier allows."""
    try:
        declared = [Requirement(text) for text in metadata.requires(PROJECT_DISTRIBUTION) or []]
    except metadata.PackageNotFoundError:
        return Check(
            "Python packages",
            f"{PROJECT_DISTRIBUTION} not installed",
            "pip install -e .",
            False,
            "`make demo` (creates .venv) or `pip install -e .` in the checkout",
        )
    needed = [r for r in declared if r.marker is None]
    found, wrong = [], []
    for requirement in needed:
        try:
            version = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            wrong.append(f"{requirement.name} missing")
            continue
        found.append(f"{requirement.name} {version}")
        if not requirement.specifier.contains(version, prereleases=True):
            wrong.append(f"{requirement.name} {version} (needs {requirement.specifier})")
    fix = f"fix: {', '.join(wrong)} → `pip install -e .` in the checkout (or `make demo`)" if wrong else ""
    return Check("Python packages", ", ".join(found), ", ".join(str(r) for r in needed), not wrong, fix)


def _profile(ctx: StageContext) -> str:
    return ctx.target.profile or "default"


def _sources_tried(session: boto3.Session) -> str:
    resolver = session._session.get_component("credential_provider")
    return "; ".join(CREDENTIAL_SOURCES.get(p.METHOD, p.METHOD) for p in resolver.providers)


def _renew_fix(ctx: StageContext, method: str) -> str:
    profile = _profile(ctx)
    if method == "sso":
        return f"`aws sso login --profile {profile}`, then rerun"
    if method == "env":
        return "export fresh AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), or unset them"
    if method in ("shared-credentials-file", "config-file"):
        return f"`aws configure --profile {profile}` with valid access keys (or switch to SSO: `aws configure sso`)"
    return f"renew the credentials of profile {profile} (`aws configure` or `aws sso login`), then rerun"


def check_credentials(ctx: StageContext) -> tuple[Check, dict[str, str]]:
    """STS GetCallerIdentity: Account, Arn, UserId; on failure, which sources were tried and what to run."""
    name, required = "AWS credentials (STS GetCallerIdentity)", "a valid identity"
    try:
        session = ctx.target.session()
    except ProfileNotFound:
        profile = _profile(ctx)
        return Check(
            name,
            f"profile '{profile}' is not in ~/.aws/config or ~/.aws/credentials",
            required,
            False,
            f"`aws configure --profile {profile}` (access keys) or `aws configure sso --profile {profile}`",
        ), {}
    try:
        credentials = session.get_credentials()
    except BotoCoreError as error:
        return Check(
            name,
            f"cannot load the credentials of profile '{_profile(ctx)}': {error}",
            required,
            False,
            _renew_fix(ctx, ""),
        ), {}
    if credentials is None:
        found = f"no credentials for profile '{_profile(ctx)}'; tried: {_sources_tried(session)}"
        fix = (
            f"run `aws configure --profile {_profile(ctx)}` (access keys) or `aws sso login --profile NAME` and "
            "export AWS_PROFILE=NAME; then `aws sts get-caller-identity`"
        )
        return Check(name, found, required, False, fix), {}
    source = CREDENTIAL_SOURCES.get(credentials.method, credentials.method)
    try:
        identity = ctx.target.client("sts").get_caller_identity()
    except (ClientError, BotoCoreError) as error:
        explanation = hints.explain(str(error))
        why = explanation.meaning if explanation else str(error)
        return Check(
            name,
            f"credentials from {source} rejected: {why} ({error})",
            required,
            False,
            _renew_fix(ctx, credentials.method),
        ), {}
    facts = {key: identity[key] for key in ("Account", "Arn", "UserId")}
    # Some identities' UserId is their access key ID: shown shortened, as the AWS console does.
    facts["UserId"] = ACCESS_KEY_ID.sub(r"\1…\2", facts["UserId"])
    found = f"{facts['Arn']} (account {facts['Account']}, user id {facts['UserId']}) via {source}"
    return Check(name, found, required, True), facts


def expected_account(ctx: StageContext) -> str:
    """The account this environment's credentials must belong to on this target ('' = not enforced)."""
    return ctx.settings.local_account_id if ctx.target.is_local else ctx.settings.account_id


def _account_setting(ctx: StageContext) -> str:
    key = "local_account_id" if ctx.target.is_local else "account_id"
    return f"{key} in environments/{ctx.environment}/runbook.toml"


def check_account(ctx: StageContext, account: str) -> Check:
    name, expected = "AWS account guard", expected_account(ctx)
    if not account:
        return Check(name, "not checked: no valid credentials", expected or "any", False, blocking=False)
    if not expected:
        fix = (
            f'set account_id = "{account}" in environments/{ctx.environment}/runbook.toml if this is the '
            f"{ctx.environment} account, so that credentials of any other account are refused"
        )
        return Check(name, account, "any: not enforced", False, fix, blocking=False)
    ok = account == expected
    fix = (
        ""
        if ok
        else (
            f"these credentials belong to account {account}, but {_account_setting(ctx)} is {expected}: "
            "switch profile (AWS_PROFILE, `aws sso login --profile NAME`) or correct the setting"
        )
    )
    return Check(name, account, expected, ok, fix)


def guard_account(ctx: StageContext) -> dict[str, str]:
    """The caller's identity, after checking it belongs to this environment's account; raises otherwise."""
    credentials, identity = check_credentials(ctx)
    if not credentials.ok:
        raise PrerequisiteError("check the AWS credentials", credentials.found, credentials.fix)
    account = check_account(ctx, identity["Account"])
    if not account.ok and account.blocking:
        raise PrerequisiteError(
            "check the AWS account",
            f"these credentials belong to account {identity['Account']} ({identity['Arn']}), but "
            f"{_account_setting(ctx)} is {account.required}; nothing was created or changed",
            "switch to credentials of account "
            + account.required
            + " (AWS_PROFILE, `aws sso login --profile NAME`), or correct the setting if it is wrong",
        )
    return identity


def check_region(ctx: StageContext) -> Check:
    """The region belongs to the partition botocore knows, and the account may use it (opt-in regions)."""
    session = ctx.target.session()
    name = "Region"
    try:
        partition = session.get_partition_for_region(ctx.region)
    except BotoCoreError:
        partition = "aws"
    known = session.get_available_regions("ec2", partition_name=partition)
    if ctx.region not in known:
        return Check(
            name,
            ctx.region,
            f"a region of the {partition} partition",
            False,
            f"use one of {', '.join(sorted(known))} (region in environments/{ctx.environment}/runbook.toml)",
        )
    required = f"a region of the {partition} partition, enabled for the account"
    if ctx.target.is_local:
        return Check(name, f"{ctx.region} ({partition}; the emulator has no opt-in regions)", required, True)
    try:
        regions = ctx.target.client("ec2").describe_regions(AllRegions=True, RegionNames=[ctx.region])["Regions"]
    except (ClientError, BotoCoreError) as error:
        return Check(
            name,
            f"{ctx.region} ({partition}); opt-in status unknown: {error}",
            required,
            True,
            "grant ec2:DescribeRegions to check it",
            blocking=False,
        )
    status = regions[0].get("OptInStatus", "") if regions else "not listed"
    ok = status in ("opt-in-not-required", "opted-in")
    fix = "" if ok else f"enable {ctx.region} for the account (Account → AWS Regions in the console), then rerun"
    return Check(name, f"{ctx.region} ({partition}, {status})", required, ok, fix)


def _summary(checks: list[Check]) -> str:
    counts = {status: sum(1 for c in checks if c.status == status) for status in ("ok", "warn", "fail")}
    text = f"{counts['ok']} of {len(checks)} checks passed"
    if counts["warn"]:
        text += f", {counts['warn']} warning{'s' if counts['warn'] > 1 else ''}"
    if counts["fail"]:
        text += f", {counts['fail']} failed"
    return text


def run(ctx: StageContext) -> Report:
    # The two tool checks mostly wait on their subprocesses: they run beside the AWS calls.
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="aipx-prereqs") as tools:
        terraform = tools.submit(check_terraform, ctx)
        aws_cli = tools.submit(check_aws_cli)
        credentials, identity = check_credentials(ctx)
        account = check_account(ctx, identity.get("Account", ""))
        region = check_region(ctx)
        packages = check_python_packages()
        checks = [terraform.result(), aws_cli.result(), packages, credentials, account, region]
    failing = [c for c in checks if c.status == "fail"]
    rows = [[c.name, c.found, c.required, c.status, c.fix] for c in checks]
    facts: dict[str, Any] = {
        "account": identity.get("Account", ""),
        "arn": identity.get("Arn", ""),
        "failed": [c.name for c in failing],
    }
    report = Report(
        "Prerequisites",
        "fail" if failing else ("warn" if any(c.status == "warn" for c in checks) else "ok"),
        _summary(checks),
        facts=facts,
        tables=[Table(["check", "found", "required", "status", "how to fix"], rows)],
    )
    ctx.record(report)
    if failing:
        raise PrerequisiteError(
            "check prerequisites",
            "; ".join(f"{c.name}: {c.found}" for c in failing),
            " | ".join(c.fix for c in failing if c.fix),
            details=str(report),
        )
    return report
