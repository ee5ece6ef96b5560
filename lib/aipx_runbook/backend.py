"""The Terraform state backend: the S3 state bucket (state_bucket.py) and the DynamoDB lock table
(lock_table.py).

``ensure`` checks the account first, creates what is missing with every setting, then reads each setting
back. An existing resource that lacks a setting is drift, changed only with ``fix_drift``. Every API call
that writes is logged as botocore sends it, so a rerun can show it changed nothing. stages/backend.py turns
the outcome into the stage's report.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from . import accounts, aws_errors, versions
from .backend_settings import AWS_FIX, TAGS, Setting, WriteLog, bootstrap
from .errors import BackendError
from .lock_table import LockTable
from .state_bucket import PUBLIC_ACCESS_BLOCK, StateBucket

if TYPE_CHECKING:
    from .context import StageContext

__all__ = ["PUBLIC_ACCESS_BLOCK", "TAGS", "BackendOutcome", "LockTable", "Setting", "StateBucket", "ensure"]


@dataclass
class BackendOutcome:
    """What stage 01 found and did: every setting, what happened to each resource, the calls that wrote."""

    settings: list[Setting]
    outcomes: dict[str, str] = field(default_factory=dict)  # label → created, completed, drift or existing
    writes: list[str] = field(default_factory=list)
    fix_drift: bool = False

    @property
    def failing(self) -> list[Setting]:
        return [s for s in self.settings if not s.compliant]

    @property
    def created(self) -> list[str]:
        return [label for label, outcome in self.outcomes.items() if outcome in ("created", "completed")]

    @property
    def fixed(self) -> list[str]:
        return [f"{s.resource} {s.name}" for s in self.settings if s.action.startswith("fixed")]


def lockfile_setting() -> Setting:
    """S3-native locking (use_lockfile) needs Terraform >= 1.10."""
    binary = shutil.which("terraform")
    version = versions.installed_version(binary) if binary else None
    found = versions.format_version(version) if version else "not found"
    ok = version is not None and version >= (1, 10, 0)
    return Setting("terraform", "S3-native locking (use_lockfile)", ">= 1.10", found, ok, fixable=False)


def ensure(ctx: StageContext, fix_drift: bool = False) -> BackendOutcome:
    """Create the state bucket and lock table if missing; read every setting back; fix drift if asked."""
    identity = accounts.guard_account(ctx)
    lockfile = [lockfile_setting()] if ctx.settings.locking in ("lockfile", "both") else []
    if lockfile and not lockfile[0].compliant:
        raise BackendError(
            "check S3-native locking",
            f'locking = "{ctx.settings.locking}" uses use_lockfile, which needs Terraform >= 1.10; found '
            f"{lockfile[0].found}; nothing was created",
            'install Terraform >= 1.10 (`make terraform`), or set locking = "dynamodb" in '
            f"environments/{ctx.environment}/runbook.toml",
        )
    log = WriteLog()
    resources: list[StateBucket | LockTable] = [StateBucket(ctx, identity["Account"], log)]
    if ctx.settings.locking in ("dynamodb", "both"):
        resources.append(LockTable(ctx, log))
    outcome = BackendOutcome([], writes=log.calls, fix_drift=fix_drift)
    try:
        for resource in resources:
            settings, outcome.outcomes[resource.label] = bootstrap(resource, fix_drift)
            outcome.settings += settings
    except (ClientError, BotoCoreError) as error:
        raise aws_errors.failure("set up the state backend", error, AWS_FIX) from error
    outcome.settings += lockfile
    return outcome


def drift_fix(ctx: StageContext, outcome: BackendOutcome) -> str:
    """What to do about settings that are not compliant: rerun with fix_drift, check permissions, or rename."""
    fixed_in_place = [s for s in outcome.failing if s.fixable]
    already_applied = outcome.fix_drift or any(s.action.startswith("set") for s in fixed_in_place)
    if fixed_in_place and not already_applied:
        return (
            "review the settings above, then rerun this stage with fix_drift=True (papermill -p fix_drift True; "
            "aipx-runbook run --stages backend -p fix_drift=True): it applies only the missing settings and "
            "keeps the bucket policy's other statements and the other tags"
        )
    if fixed_in_place:
        return (
            "AWS did not apply "
            + ", ".join(f"{s.resource} {s.name}" for s in fixed_in_place)
            + ": check this identity's permissions (s3:Put*, dynamodb:UpdateTable, dynamodb:UpdateContinuousBackups)"
        )
    return (
        "these settings cannot change in place (region, key schema): choose another bucket or table name in "
        f"environments/{ctx.environment}/runbook.toml [backend], then rerun stage 01"
    )
