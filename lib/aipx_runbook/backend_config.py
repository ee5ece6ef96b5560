"""The ``-backend-config`` options of ``terraform init``: the environment's S3 state, its locking, and the
emulator's endpoints (named as the Terraform version in use reads them)."""

from __future__ import annotations

from . import versions
from .context import StageContext
from .errors import PrerequisiteError


def options(ctx: StageContext, version: versions.Version) -> dict[str, str]:
    settings = ctx.settings
    config = {
        "bucket": settings.state_bucket,
        "key": settings.state_key,
        "region": ctx.region,
        "encrypt": "true",
    }
    if settings.locking in ("dynamodb", "both"):
        config["dynamodb_table"] = settings.lock_table
    if settings.locking in ("lockfile", "both"):
        if version < (1, 10, 0):
            raise PrerequisiteError(
                "configure S3-native state locking",
                f"use_lockfile needs Terraform >= 1.10; found {versions.format_version(version)}",
                f'upgrade Terraform or set locking = "dynamodb" in environments/{ctx.environment}/runbook.toml',
            )
        config["use_lockfile"] = "true"
    if ctx.target.is_local:
        config.update(emulator_options(ctx.target.endpoint_url, version))
    return config


def emulator_options(endpoint: str, version: versions.Version) -> dict[str, str]:
    """The emulator's endpoints; Terraform 1.6 renamed these options."""
    options = {
        "skip_credentials_validation": "true",
        "skip_metadata_api_check": "true",
        "skip_region_validation": "true",
    }
    if version >= (1, 6, 0):
        options["endpoints"] = f'{{s3="{endpoint}",dynamodb="{endpoint}",sts="{endpoint}",iam="{endpoint}"}}'
        options["use_path_style"] = "true"
        options["skip_requesting_account_id"] = "true"
    else:
        options["endpoint"] = endpoint
        options["dynamodb_endpoint"] = endpoint
        options["sts_endpoint"] = endpoint
        options["iam_endpoint"] = endpoint
        options["force_path_style"] = "true"
    return options
