"""The shell commands that restore an earlier version of the state (shown by stage 07, never run by it):
through ``terraform state push``, so that Terraform takes the lock and updates the lock table's checksum."""

from __future__ import annotations

import os
import shlex
from typing import TYPE_CHECKING

from .local_credentials import ACCESS_KEY_VARIABLE, SECRET_KEY_VARIABLE, shell_assignments

if TYPE_CHECKING:
    from .context import StageContext


def restore_steps(ctx: StageContext, version_id: str) -> list[tuple[str, str]]:
    """The shell commands that restore one version of the state, each with why."""
    bucket, key = ctx.settings.state_bucket, ctx.settings.state_key
    endpoint = f" --endpoint-url {ctx.target.endpoint_url}" if ctx.target.is_local else ""
    setup = f"cd {shlex.quote(str(ctx.stack_dir))} && export TF_DATA_DIR={shlex.quote(str(ctx.terraform_data_dir))}"
    why = "the working directory stage 02 initialised for this environment"
    if ctx.target.is_local:
        setup += f" {shell_assignments()}"
        if os.environ.get(ACCESS_KEY_VARIABLE):
            why += f", and the emulator user's keys from {ACCESS_KEY_VARIABLE}/{SECRET_KEY_VARIABLE} (set them here)"
    return [
        (setup, why),
        ('RESTORE="$(mktemp -d)"', "a private folder (mode 700) for the state files: they may hold secrets"),
        ('terraform state pull > "$RESTORE/before.tfstate"', "a copy of the current state"),
        (
            f"aws s3api get-object --region {ctx.region} --bucket {bucket} --key {key} --version-id {version_id}"
            f'{endpoint} "$RESTORE/restored.tfstate"',
            "the version to restore",
        ),
        ('terraform show "$RESTORE/restored.tfstate"', "check that it holds what you expect"),
        (
            'terraform state push -force "$RESTORE/restored.tfstate"',
            "-force because its serial is older than the current one; Terraform takes the lock and updates the "
            "lock table's checksum (copying the S3 object by hand would leave that checksum stale)",
        ),
        ('rm -r "$RESTORE"', "once the restored state is confirmed"),
        (
            f"aipx-runbook run --env {ctx.environment} --target {ctx.target.name} --stages plan",
            "compare the restored state with the real infrastructure",
        ),
    ]
