"""Terraform and AWS error text → what it means and what to do.

The first four entries are the troubleshooting table of the stack's operator README.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Hint:
    name: str
    pattern: re.Pattern[str]
    meaning: str
    fix: str

    def __str__(self) -> str:
        return f"{self.meaning} → {self.fix}"


def _hint(name: str, pattern: str, meaning: str, fix: str) -> Hint:
    return Hint(name, re.compile(pattern, re.IGNORECASE | re.DOTALL), meaning, fix)


HINTS: tuple[Hint, ...] = (
    _hint(
        "backend-bucket-missing",
        r"S3 bucket (\"[^\"]*\" )?does not exist|NoSuchBucket|Failed to get existing workspaces",
        "the Terraform state bucket does not exist in this account and region",
        "run stage 01 (backend setup) to create the state bucket and lock table, then init again",
    ),
    _hint(
        "unauthorized",
        r"UnauthorizedOperation|AccessDenied|not authorized to perform",
        "the credentials lack a permission this step needs",
        "grant the IAM user or role the permissions in terraform/aws/iam-policy.json, then retry",
    ),
    _hint(
        "msk-conflict",
        r"ConflictException",
        "a resource with this name already exists (for MSK: a cluster of the same name)",
        "check for the existing resource: import it, delete it, or choose another name",
    ),
    _hint(
        "wrong-region-ami",
        r"InvalidAMIID\.NotFound",
        "the image ID does not exist in this region",
        "check the region in variables.tf, environments/<env>/aws.tfvars and runbook.toml",
    ),
    _hint(
        "state-locked",
        r"Error acquiring the state lock|ConditionalCheckFailedException|PreconditionFailed",
        "another Terraform run holds this environment's state lock",
        "wait for it to finish; if its process is gone, inspect the lock in notebook 07 and force-unlock "
        "it with the lock ID it shows",
    ),
    _hint(
        "credentials-expired",
        r"ExpiredToken|RequestExpired|token (has|is) expired|SSO session.*expired",
        "the AWS credentials have expired",
        "renew them: `aws sso login` for SSO profiles, or new keys with `aws configure`",
    ),
    _hint(
        "credentials-missing",
        r"NoCredentialProviders|no valid credential sources|Unable to locate credentials|"
        r"failed to refresh cached credentials|InvalidClientTokenId|SignatureDoesNotMatch",
        "no valid AWS credentials were found (profile, environment and SSO were tried)",
        "run `aws configure` (access keys) or `aws sso login --profile NAME`, then "
        "`aws sts get-caller-identity` to check",
    ),
    _hint(
        "backend-changed",
        r"Backend configuration changed|Backend initialization required",
        "the backend settings differ from those this working directory was initialised with",
        "re-run init with -reconfigure to use the new settings as they are, or -migrate-state to copy "
        "the existing state to the new backend",
    ),
    _hint(
        "provider-download",
        r"Failed to query available provider packages|could not connect to registry|"
        r"Failed to install provider|registry\.terraform\.io",
        "Terraform could not download a provider: the registry is unreachable (offline or air-gapped)",
        "use a provider plugin cache (TF_PLUGIN_CACHE_DIR) or a filesystem mirror in the CLI "
        "configuration; or run the smoke stack, which needs no provider",
    ),
    _hint(
        "backend-option-unsupported",
        r"Unsupported argument.*(endpoints|use_path_style|use_lockfile|force_path_style|dynamodb_endpoint)|"
        r"Invalid backend configuration argument|An argument named \"(endpoints|use_lockfile)\" is not expected",
        "the installed Terraform does not know an S3 backend option in use (names changed in 1.6; "
        "use_lockfile needs 1.10)",
        'upgrade Terraform to the stack\'s pinned version (`make terraform`), or set locking = "dynamodb" '
        "in environments/<env>/runbook.toml",
    ),
)


def explain(text: str) -> Hint | None:
    """The first hint whose pattern matches the error text, if any."""
    for hint in HINTS:
        if hint.pattern.search(text):
            return hint
    return None


def fix_for(text: str, default: str) -> tuple[str, str]:
    """(why, fix) for an error text: the hint's when one matches, else the default fix."""
    hint = explain(text)
    if hint is None:
        return _first_error_line(text), default
    return hint.meaning, hint.fix


def _first_error_line(text: str) -> str:
    for line in text.splitlines():
        stripped = line.strip(" │╷╵")
        if stripped.startswith("Error"):
            return stripped
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no error text"
