"""The prerequisite checks of stage 00, one ``Check`` each: Terraform, the AWS CLI, the Python packages, the
credentials and account (accounts.py) and the region. stages/prerequisites.py shows them as the stage's report.
"""

from __future__ import annotations

import platform
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError
from packaging.requirements import Requirement

from . import accounts, aws_cli, versions
from .checks import Check
from .timings import measure
from .toolchain import install_help

if TYPE_CHECKING:
    from .context import StageContext

PROJECT_DISTRIBUTION = "aipx-runbook"
AWS_CLI_FIX = {
    "Darwin": "macOS: `brew install awscli`",
    "Linux": "Linux: `curl https://awscli.amazonaws.com/awscli-exe-linux-x86_64.zip -o awscliv2.zip && "
    "unzip awscliv2.zip && sudo ./aws/install`",
    "Windows": "Windows: `msiexec.exe /i https://awscli.amazonaws.com/AWSCLIV2.msi`",
}


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
    with measure("aws"):
        found = aws_cli.version(binary)  # an answer asked ahead only for the binary found now
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


@dataclass
class Prerequisites:
    """Every check, in the order shown, and the identity the credentials answered as (empty when they failed)."""

    checks: list[Check]
    identity: dict[str, str] = field(default_factory=dict)

    @property
    def failing(self) -> list[Check]:
        return [c for c in self.checks if c.status == "fail"]


def run(ctx: StageContext) -> Prerequisites:
    # The two tool checks mostly wait on their subprocesses: they run beside the AWS calls.
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="aipx-prereqs") as tools:
        terraform = tools.submit(check_terraform, ctx)
        cli_check = tools.submit(check_aws_cli)
        credentials, identity = accounts.check_credentials(ctx)
        account = accounts.check_account(ctx, identity.get("Account", ""))
        region = check_region(ctx)
        packages = check_python_packages()
        checks = [terraform.result(), cli_check.result(), packages, credentials, account, region]
    return Prerequisites(checks, identity)
