"""What the CLI says and returns instead of a traceback: its exit codes, a report's exit code, and AWS SDK errors
and input files turned into FAILED / why / fix."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import aws_errors, isolation
from .errors import RunbookError

if TYPE_CHECKING:
    from .results import Report

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_DRIFT = 3  # `drift`: the environment and its code disagree

PLAN_JSON_FIX = "make it from a saved plan: `terraform show -json tfplan > plan.json`, then pass --plan-json plan.json"


def print_report(report: Report) -> int:
    """Print a report; its exit code (a failed report: EXIT_FAILED)."""
    print(report)
    return EXIT_OK if report.ok else EXIT_FAILED


def explain(error: BaseException, what: str) -> RunbookError | None:
    """A RunbookError for an AWS SDK error, or None for anything else."""
    if "botocore" not in sys.modules:
        return None
    from botocore import exceptions as aws

    if isinstance(error, aws.ProfileNotFound):
        profile = error.kwargs.get("profile", "")
        return RunbookError(
            what,
            f"the AWS profile '{profile}' (from --profile or AWS_PROFILE) is not in ~/.aws/config or "
            "~/.aws/credentials",
            f"create it (`aws configure --profile {profile}` or `aws configure sso --profile {profile}`), pass "
            "--profile with an existing one, or unset AWS_PROFILE",
        )
    if isinstance(error, aws.NoCredentialsError):
        return RunbookError(
            what,
            "no AWS credentials were found (environment, ~/.aws files, SSO, instance role)",
            "`aws configure` or `aws sso login --profile NAME` and pass --profile NAME; check with "
            "`aws sts get-caller-identity`",
        )
    if isinstance(error, aws.ProxyConnectionError):
        proxy = error.kwargs.get("proxy_url", "")
        return RunbookError(
            what,
            f"the proxy {proxy} (HTTPS_PROXY/HTTP_PROXY in the environment) could not be reached",
            "fix or unset HTTPS_PROXY/HTTP_PROXY, or add the AWS endpoint's host to NO_PROXY",
        )
    if isinstance(error, aws.EndpointConnectionError):
        url = error.kwargs.get("endpoint_url", "")
        proxy = isolation.proxy_for(url)
        cause = f" through the proxy {proxy} (HTTPS_PROXY/HTTP_PROXY)" if proxy else ""
        return RunbookError(
            what,
            f"could not connect to {url}{cause}",
            "check the proxy settings (or add the host to NO_PROXY)" if proxy else "check the network and the region",
        )
    if isinstance(error, aws.ClientError):
        return RunbookError(
            what,
            f"AWS refused: {aws_errors.code(error) or '?'}: {aws_errors.message(error)}",
            "check the credentials and this identity's permissions for that call",
        )
    if isinstance(error, aws.BotoCoreError):
        return RunbookError(what, str(error), "check the AWS credentials, region and network")
    return None


def read_plan_json(text: str) -> dict[str, Any]:
    """`terraform show -json` of a saved plan, checked: a missing, invalid or wrongly shaped file is refused."""
    path = Path(text)
    if not path.is_file():
        raise RunbookError("read the plan JSON", f"{path} does not exist (or is not a file)", PLAN_JSON_FIX)
    try:
        plan = json.loads(path.read_text())
    except ValueError as error:
        raise RunbookError(
            "read the plan JSON",
            f"{path} line {getattr(error, 'lineno', '?')}: not valid JSON ({error})",
            PLAN_JSON_FIX,
        ) from None
    shaped = isinstance(plan, dict) and "format_version" in plan
    if not shaped or not ({"planned_values", "resource_changes"} & set(plan)):
        keys = ", ".join(sorted(plan)[:5]) if isinstance(plan, dict) else type(plan).__name__
        raise RunbookError(
            "read the plan JSON",
            f"{path} is not `terraform show -json` of a saved plan: it has no format_version and no "
            "planned_values or resource_changes "
            f"(found: {keys or 'an empty object'})",
            PLAN_JSON_FIX,
        )
    return plan
