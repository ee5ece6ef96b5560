"""Drills on the state backend: the troubleshooting table's backend, permission and region rows, and drift."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from python_terraform import IsFlagged

from .. import stages
from ..context import StageContext
from .drill import Drill, Scene, failed_scene
from .inspect import Finding, applied_findings, backend_findings, state_body, state_document
from .scene import apply_directly, backend_ready, failure_of, initialised, reset_emulator

PIPELINE = (
    "stages 02 (init), 03 (plan) and 04 (apply, auto_approve=True) with the defaults (stack smoke), so the "
    "environment's state is written again"
)


def smoke_outputs(ctx: StageContext) -> list[Finding]:
    """The smoke stack's state was written for this environment (apply reached the end)."""
    found = applied_findings(ctx, [])
    document = state_document(ctx)
    value = (document or {}).get("outputs", {}).get("environment", {}).get("value")
    found.append(Finding("output environment", value == ctx.environment, f"{value!r}" if value else "missing"))
    return found


def plan_fails(ctx: StageContext) -> None:
    runner = initialised(ctx)
    runner.run("plan", input=False, no_color=IsFlagged, lock_timeout="0s", **runner.variable_arguments())


# -- backend-missing ------------------------------------------------------------------------------------------


def setup_backend_missing(ctx: StageContext) -> Scene:
    reset_emulator(ctx)
    error = failure_of(initialised, ctx)
    done = ["an empty emulated account: no state bucket, no lock table (a new account, or a new environment)"]
    return failed_scene("The backend does not exist", done, error)


def check_backend_missing(ctx: StageContext, _: dict[str, Any]) -> list[Finding]:
    return backend_findings(ctx) + smoke_outputs(ctx)


# -- backend-drift --------------------------------------------------------------------------------------------


def setup_backend_drift(ctx: StageContext) -> Scene:
    reset_emulator(ctx)
    backend_ready(ctx)
    apply_directly(ctx)
    s3 = ctx.target.client("s3")
    bucket = ctx.settings.state_bucket
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    s3.delete_bucket_encryption(Bucket=bucket)
    s3.delete_public_access_block(Bucket=bucket)
    done = [
        "the backend and the environment's state, as the runbook made them",
        "then, by hand in the console: versioning suspended, default encryption removed, public access block "
        "deleted (someone 'debugging' the bucket)",
    ]
    return failed_scene("The state bucket drifted", done, failure_of(stages.backend_setup, ctx))


def check_backend_drift(ctx: StageContext, _: dict[str, Any]) -> list[Finding]:
    return backend_findings(ctx)


# -- wrong-region ---------------------------------------------------------------------------------------------

WRONG_REGION = "us-east-1"


def setup_wrong_region(ctx: StageContext) -> Scene:
    reset_emulator(ctx)
    stages.backend_setup(dataclasses.replace(ctx, target=dataclasses.replace(ctx.target, region=WRONG_REGION)))
    error = failure_of(stages.backend_setup, ctx)
    done = [
        f"the backend (state bucket s3://{ctx.settings.state_bucket} and lock table) was made with the "
        f"environment's region left at {WRONG_REGION}, not {ctx.region}; the bucket holds no state yet",
    ]
    return failed_scene("The backend is in the wrong region", done, error)


def check_wrong_region(ctx: StageContext, _: dict[str, Any]) -> list[Finding]:
    return backend_findings(ctx) + smoke_outputs(ctx)


# -- permission-denied ----------------------------------------------------------------------------------------

DENY_SID = "OnlyCiMayTouchState"


def setup_permission_denied(ctx: StageContext) -> Scene:
    reset_emulator(ctx)
    backend_ready(ctx)
    apply_directly(ctx)
    bucket = ctx.settings.state_bucket
    account = ctx.target.client("sts").get_caller_identity()["Account"]
    statement = {
        "Sid": DENY_SID,
        "Effect": "Deny",
        "Principal": "*",
        "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
        "Resource": f"arn:aws:s3:::{bucket}/*",
        "Condition": {"StringNotLike": {"aws:PrincipalArn": f"arn:aws:iam::{account}:role/aipx-ci"}},
    }
    s3 = ctx.target.client("s3")
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
    done = [
        "the backend and the environment's state, as the runbook made them",
        "then a colleague added a statement to the state bucket's policy, meant to let only the CI role write "
        "the state; it denies you too",
    ]
    return failed_scene("Access denied", done, failure_of(plan_fails, ctx))


def _denies(statement: dict[str, Any]) -> bool:
    actions = statement.get("Action", [])
    actions = [actions] if isinstance(actions, str) else actions
    return statement.get("Effect") == "Deny" and any(a in ("s3:*", "s3:GetObject", "s3:PutObject") for a in actions)


def check_permission_denied(ctx: StageContext, _: dict[str, Any]) -> list[Finding]:
    s3 = ctx.target.client("s3")
    try:
        statements = json.loads(s3.get_bucket_policy(Bucket=ctx.settings.state_bucket)["Policy"])["Statement"]
    except Exception:  # noqa: BLE001 (no policy, or no bucket: either way nothing denies)
        statements = []
    denying = [s.get("Sid", "(no Sid)") for s in statements if _denies(s)]
    found = [
        Finding("bucket policy", not denying, "denies state access: " + ", ".join(denying) if denying else "no Deny"),
        Finding("state object readable", state_body(ctx) is not None, "GetObject as your identity"),
    ]
    return found + smoke_outputs(ctx)


# -- the drills -----------------------------------------------------------------------------------------------

BACKEND_MISSING = Drill(
    number="01",
    name="backend-missing",
    title="Backend initialisation fails: the state bucket does not exist",
    goal="bring up the backend of a new account and get the environment's state written",
    teaches="stage 01 creates the state bucket and lock table with every setting; init needs them first",
    minutes=10,
    stack="smoke",
    row="1. Backend 초기화 실패 (S3 bucket does not exist)",
    story="A new AWS account for the environment. A colleague ran `terraform init` and it failed.",
    sees="`terraform init` (stage 02) stops with **S3 bucket does not exist** (the README's "
    "`Failed to get existing workspaces: S3 bucket does not exist.`).",
    task="Make the backend exist, then take the environment through init, plan and apply.",
    hints=(
        "Which stage of the runbook makes the state bucket and the lock table?",
        "Run `notebooks/01_backend_setup.ipynb` with the defaults; read its table: every setting is verified.",
        "Then " + PIPELINE + ".",
    ),
    setup=setup_backend_missing,
    check=check_backend_missing,
)

BACKEND_DRIFT = Drill(
    number="06",
    name="backend-drift",
    title="Drift on the state backend",
    goal="find the settings someone changed on the state bucket and restore exactly those",
    teaches="stage 01 reports drift and changes nothing unless fix_drift=True; why versioning and encryption "
    "of the state matter",
    minutes=10,
    stack="smoke",
    story="Someone 'debugged' the state bucket in the console last night.",
    sees="Stage 01 fails with **not compliant**: it lists each setting that differs from what it should be.",
    task="Read what drifted, then let the runbook restore exactly the missing settings.",
    hints=(
        "Run `notebooks/01_backend_setup.ipynb` and read the FAIL rows of its table.",
        "Stage 01 never changes an existing bucket on its own: it needs an explicit parameter.",
        "Run 01 again with `fix_drift = True` (papermill `-p fix_drift True`); it applies only the missing "
        "settings and keeps the policy's other statements and the other tags.",
    ),
    setup=setup_backend_drift,
    check=check_backend_drift,
)

WRONG_REGION_DRILL = Drill(
    number="04",
    name="wrong-region",
    title="Region error: the backend was made in the wrong region",
    goal="spot the region mismatch, replace the empty misplaced bucket, and get the state written",
    teaches="regional resources and the environment's region (runbook.toml, variables.tf, aws.tfvars); what "
    "cannot be changed in place",
    minutes=15,
    stack="smoke",
    row="4. 리전 에러 (resources looked up in the wrong region)",
    story="Someone created the state bucket by hand with the AWS CLI, which used its default region.",
    sees="Stage 01 fails: **bucket region (wanted ap-northeast-2, found us-east-1)**, which cannot change in place.",
    task="Check that the misplaced bucket holds nothing, remove it, and let the runbook make the backend in the "
    "environment's region; then run the pipeline.",
    hints=(
        "A bucket's region is fixed when it is created. Is there anything in it? "
        "`training.console.buckets()` shows every bucket with its region and object count.",
        "An empty bucket in the wrong region can go: `training.console.delete_bucket('aipx-terraform-state')`.",
        "Then run `notebooks/01_backend_setup.ipynb`, and " + PIPELINE + ".",
    ),
    setup=setup_wrong_region,
    check=check_wrong_region,
)

PERMISSION_DENIED = Drill(
    number="02",
    name="permission-denied",
    title="Permission error: access to the state is denied",
    goal="find the Deny that blocks you, remove it (as the administrator), and plan again",
    teaches="reading an AccessDenied: who is denied what, on which resource, and by which policy",
    minutes=15,
    stack="smoke",
    row="2. 권한 에러 (UnauthorizedOperation / AccessDenied)",
    story="Yesterday plan worked. Today it fails, and nobody changed the stack.",
    sees="Stage 02 or 03 fails with **403 / AccessDenied** on the state object.",
    task="Find which policy denies you, take the faulty statement out as the account's administrator would, "
    "then show that the runbook can read and write the state again.",
    hints=(
        "The error names the bucket and the object. Which policies apply to an S3 object besides your IAM policy?",
        "Look at the bucket policy: `training.console.bucket_policy()`. Conditions aside, an explicit Deny "
        "beats every Allow.",
        f"`training.console.remove_policy_statement('{DENY_SID}')`, then " + PIPELINE + ".",
    ),
    setup=setup_permission_denied,
    check=check_permission_denied,
)
