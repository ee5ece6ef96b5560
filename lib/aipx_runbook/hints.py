"""Terraform and AWS error text → what it means and what to do.

The first four entries are the troubleshooting table of the stack's operator README. Each hint is tested
against real error text in tests/data/errors/, captured from the real Terraform binary or the moto server.
The first hint whose pattern matches wins, so the specific ones come before the general ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class Explanation:
    name: str
    meaning: str
    fix: str


@dataclass(frozen=True)
class Hint:
    name: str
    pattern: re.Pattern[str]
    meaning: str
    fix: str
    # Fills in what the error text names (lock holder, account); None keeps the general wording.
    specifics: Callable[[str], tuple[str, str] | None] | None = None

    def explain(self, text: str) -> Explanation:
        specific = self.specifics(text) if self.specifics else None
        meaning, fix = specific or (self.meaning, self.fix)
        return Explanation(self.name, meaning, fix)


def parse_time(text: str) -> datetime | None:
    """A Terraform lock's Created time, as JSON (RFC 3339) or as printed (``2026-01-02 03:04:05.1 +0000 UTC``)."""
    cleaned = text.strip().removesuffix(" UTC")
    match = re.match(r"(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}:\d{2})(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?$", cleaned)
    if not match:
        return None
    day, clock, fraction, zone = match.groups()
    iso = f"{day}T{clock or '00:00:00'}{(fraction or '')[:7]}{'+00:00' if zone in (None, 'Z') else zone}"
    try:
        return datetime.fromisoformat(iso)
    except ValueError:
        return None


def age_text(since: datetime, now: datetime | None = None) -> str:
    seconds = max(0, int(((now or datetime.now(UTC)) - since).total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {seconds} s"
    return f"{seconds} s"


OPERATIONS = {
    "OperationTypeApply": "apply",
    "OperationTypePlan": "plan",
    "OperationTypeRefresh": "refresh",
    "OperationTypeInvalid": "a command without a plan type (console, state, import, taint…)",
}


def operation_name(operation: str) -> str:
    return OPERATIONS.get(operation, operation or "unknown operation")


def lock_fields(text: str) -> dict[str, str]:
    """The ``Lock Info:`` block Terraform prints with a lock error, as a dict (ID, Who, Operation, Created…)."""
    block = text.split("Lock Info:", 1)[1] if "Lock Info:" in text else ""
    fields = {}
    for line in block.splitlines():
        match = re.match(r"\s*(ID|Path|Operation|Who|Version|Created|Info):\s*(.*)$", line)
        if match:
            fields.setdefault(match.group(1), match.group(2).strip())
        elif fields and not line.strip():
            break
    return fields


def _lock_specifics(text: str) -> tuple[str, str] | None:
    fields = lock_fields(text)
    if "ID" not in fields:
        return None
    created = parse_time(fields.get("Created", ""))
    since = f"since {created:%Y-%m-%d %H:%M:%S} UTC ({age_text(created)} ago)" if created else "since an unknown time"
    meaning = (
        f"the state lock is held by {fields.get('Who') or 'an unknown holder'} "
        f"({operation_name(fields.get('Operation', ''))}) {since}; lock ID {fields['ID']}"
    )
    fix = (
        "wait for that run to finish, then retry; if its process is gone (killed or crashed), release the lock "
        f"with notebook 07: confirm_lock_id='{fields['ID']}' "
        f"(aipx-runbook run --env ENV --stages state -p confirm_lock_id={fields['ID']})"
    )
    return meaning, fix


def _account_specifics(text: str) -> tuple[str, str] | None:
    match = re.search(r"AWS account ID not allowed: (\d{12})", text)
    if not match:
        return None
    return (
        f"these credentials belong to account {match.group(1)}, which this configuration does not allow",
        "switch to the environment's account (AWS_PROFILE, or `aws sso login --profile NAME`); "
        "environments/<env>/runbook.toml account_id names it; check with `aws sts get-caller-identity`",
    )


FOREIGN_BUCKET_FIX = (
    "check the account with `aws sts get-caller-identity`; use the owning account's credentials, or choose "
    "another bucket name in environments/<env>/runbook.toml [backend] bucket and run stage 01"
)


def foreign_bucket_meaning(bucket: str = "") -> str:
    name = f"{bucket} " if bucket else ""
    return (
        f"the state bucket {name}exists, but these credentials may not use it: it belongs to another AWS "
        "account (bucket names are global), or this identity lacks s3:ListBucket/s3:GetObject on it"
    )


def _foreign_bucket_specifics(text: str) -> tuple[str, str] | None:
    match = re.search(r'in S3 bucket "([^"]+)"', text)
    return (foreign_bucket_meaning(match.group(1)), FOREIGN_BUCKET_FIX) if match else None


def _hint(
    name: str,
    pattern: str,
    meaning: str,
    fix: str,
    specifics: Callable[[str], tuple[str, str] | None] | None = None,
) -> Hint:
    return Hint(name, re.compile(pattern, re.IGNORECASE | re.DOTALL), meaning, fix, specifics)


HINTS: tuple[Hint, ...] = (
    _hint(
        "state-locked",
        r"Error acquiring the state lock|ConditionalCheckFailedException|PreconditionFailed",
        "another Terraform run holds this environment's state lock",
        "wait for it to finish; if its process is gone, inspect the lock in notebook 07 and release it there "
        "with confirm_lock_id set to the lock ID it shows",
        _lock_specifics,
    ),
    _hint(
        "backend-option-unsupported",
        r"backend configuration argument \"[a-z_]+\" given on the command line\s+is\s+not\s+expected|"
        r"Unsupported argument.*(endpoints|use_path_style|use_lockfile)|"
        r"The parameters \"[a-z_.0-9]+\" and \"[a-z_.0-9]+\" cannot be configured together",
        "the installed Terraform rejects an S3 backend option in use: the option names changed in 1.6 "
        "(endpoints, use_path_style), use_lockfile needs 1.10, and old and new names cannot be mixed",
        'install the stack\'s pinned Terraform (`make terraform`), or set locking = "dynamodb" in '
        "environments/<env>/runbook.toml for a Terraform older than 1.10; the runbook picks the option names "
        "for the installed version, so remove hand-written backend options from the stack",
    ),
    _hint(
        "backend-changed",
        r"Backend configuration changed|Backend initialization required",
        "the backend settings differ from those this working directory was initialised with",
        "re-run init with -reconfigure to use the new settings as they are (the runbook's stage 02 does), or "
        "with -migrate-state to copy the existing state into the new backend first",
    ),
    _hint(
        "provider-download",
        r"Failed to query available provider packages|could not connect to registry|Failed to install provider",
        "Terraform could not download a provider: the registry is unreachable (offline or air-gapped)",
        "point Terraform at providers it can reach: a plugin cache (TF_PLUGIN_CACHE_DIR) filled on a connected "
        "machine, or a filesystem mirror (`terraform providers mirror DIR`, then provider_installation "
        "{ filesystem_mirror { path = DIR } } in the CLI configuration); the smoke stack needs no provider",
    ),
    _hint(
        "wrong-account",
        r"AWS account ID not allowed",
        "these credentials belong to an AWS account this configuration does not allow",
        "switch to the environment's account (AWS_PROFILE, or `aws sso login --profile NAME`); check with "
        "`aws sts get-caller-identity`",
        _account_specifics,
    ),
    _hint(
        "credentials-expired",
        r"ExpiredToken|RequestExpired|token (has|is) expired|SSO session has expired",
        "the AWS credentials have expired",
        "renew them: `aws sso login --profile NAME` for SSO profiles; new session keys for temporary "
        "credentials; then `aws sts get-caller-identity` to check",
    ),
    _hint(
        "credentials-missing",
        r"No valid credential sources|NoCredentialProviders|Unable to locate credentials|"
        r"failed to refresh cached credentials|InvalidClientTokenId|SignatureDoesNotMatch",
        "no valid AWS credentials were found (environment variables, profile files, SSO and instance "
        "metadata were tried)",
        "run `aws configure` (access keys) or `aws sso login --profile NAME` (SSO), export AWS_PROFILE=NAME "
        "if the profile is not the default, then check with `aws sts get-caller-identity`",
    ),
    _hint(
        "backend-bucket-forbidden",
        r"Unable to access object \"[^\"]*\" in S3 bucket.*StatusCode: 403|HeadBucket operation: Forbidden",
        foreign_bucket_meaning(),
        FOREIGN_BUCKET_FIX,
        _foreign_bucket_specifics,
    ),
    _hint(
        "backend-bucket-missing",
        r"S3 bucket (\"[^\"]*\" )?does not exist|NoSuchBucket",
        "the Terraform state bucket does not exist in this account and region",
        "run stage 01 (backend setup) to create the state bucket and lock table, then init again",
    ),
    _hint(
        "unauthorized",
        r"UnauthorizedOperation|AccessDenied|not authorized to perform",
        "the credentials lack a permission this step needs",
        "grant the IAM user or role the missing permission (the error names the action; production uses the "
        "least-privilege policy of the stack's README), then retry",
    ),
    _hint(
        "msk-conflict",
        r"ConflictException",
        "a resource with this name already exists (for MSK: a cluster or configuration of the same name)",
        "find the existing resource: import it into the state, delete it, or choose another name",
    ),
    _hint(
        "wrong-region-ami",
        r"InvalidAMIID\.NotFound",
        "the image ID does not exist in this region (AMI IDs are per region)",
        "check the region in variables.tf, environments/<env>/aws.tfvars and runbook.toml, and use an AMI of "
        "that region",
    ),
)


def explain(text: str) -> Explanation | None:
    """What the first matching hint says about an error text, with the specifics it names; None if none match."""
    for hint in HINTS:
        if hint.pattern.search(text):
            return hint.explain(text)
    return None


def fix_for(text: str, default: str) -> tuple[str, str]:
    """(why, fix) for an error text: the hint's when one matches, else the first error line and the default."""
    explanation = explain(text)
    if explanation is None:
        return _first_error_line(text), default
    return explanation.meaning, explanation.fix


def _first_error_line(text: str) -> str:
    for line in text.splitlines():
        stripped = line.strip(" │╷╵")
        if stripped.startswith("Error"):
            return stripped
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no error text"
