"""AWS credentials and the account guard.

``check_credentials`` asks STS who the credentials are (and, when they fail, which sources botocore tried and
what to run); ``guard_account`` runs before the first stage that creates anything: credentials of another
account than the environment's stop the run, naming both accounts. On target local it checks the account the
emulator answers as (``local_account_id``), so training runs exercise the same comparison.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError, ProfileNotFound

from . import hints
from .checks import Check
from .errors import PrerequisiteError

if TYPE_CHECKING:  # boto3 is imported where a session is made: other stages never pay for it
    import boto3

    from .context import StageContext

ACCESS_KEY_ID = re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{12}([A-Z0-9]{4})\b")
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
