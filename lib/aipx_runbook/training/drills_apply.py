"""Drills on applies: a half-applied plan, a resource that already exists, a plan the stack moved away from.
Each runs on its own drill stack (built-in resources only)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from .. import stages
from ..context import StageContext
from .drill import DRILL_STACK_PIPELINE as PIPELINE
from .drill import STACK_NOTE, Drill, Scene, failed_scene
from .inspect import Finding, finished, replaced_findings, resource_ids
from .scene import apply_directly, backend_ready, failure_of, initialised, reset_emulator

# -- half-applied ---------------------------------------------------------------------------------------------

HALF_RESOURCES = ["terraform_data.network", "terraform_data.database", "terraform_data.function"]


def _artifacts(ctx: StageContext) -> str:
    return f"aipx-{ctx.environment}-artifacts"


def setup_half_applied(ctx: StageContext) -> Scene:
    reset_emulator(ctx)
    backend_ready(ctx)
    initialised(ctx)
    stages.plan(ctx)
    error = failure_of(stages.apply, ctx, auto_approve=True)
    ids = resource_ids(ctx)
    s3 = ctx.target.client("s3")
    s3.create_bucket(Bucket=_artifacts(ctx), CreateBucketConfiguration={"LocationConstraint": ctx.region})
    s3.put_object(Bucket=_artifacts(ctx), Key="strategy-worker.zip", Body=b"PK\x05\x06" + b"\0" * 18)
    done = [
        "stage 03 planned the stack, and stage 04 applied it while the build had not yet uploaded the function's "
        f"code package to s3://{_artifacts(ctx)}/",
        "the network and the database were created; the function failed. The build has finished since.",
    ]
    return failed_scene("A half-applied plan", done, error, ids=ids)


def check_half_applied(ctx: StageContext, remembered: dict[str, Any]) -> list[Finding]:
    replaced = "replaced (id {now}, was {was}): it was destroyed and made again"
    return finished(ctx, HALF_RESOURCES) + replaced_findings(
        ctx, remembered.get("ids", {}), replaced, may_change=("terraform_data.function",)
    )


# -- resource-conflict ----------------------------------------------------------------------------------------


def _data_lake(ctx: StageContext) -> str:
    return f"aipx-{ctx.environment}-data-lake"


def setup_resource_conflict(ctx: StageContext) -> Scene:
    reset_emulator(ctx)
    backend_ready(ctx)
    s3 = ctx.target.client("s3")
    s3.create_bucket(Bucket=_data_lake(ctx), CreateBucketConfiguration={"LocationConstraint": ctx.region})
    s3.put_bucket_tagging(Bucket=_data_lake(ctx), Tagging={"TagSet": [{"Key": "CreatedBy", "Value": "manual-test"}]})
    error = failure_of(apply_directly, ctx)
    done = [
        f"a colleague created the bucket {_data_lake(ctx)} by hand weeks ago, to try something; it is empty",
        "then the stack, which creates a bucket of that name, was applied",
    ]
    return failed_scene("A resource that already exists", done, error)


def check_resource_conflict(ctx: StageContext, _: dict[str, Any]) -> list[Finding]:
    found = finished(ctx, ["terraform_data.data_lake"])
    try:
        tags = {
            t["Key"]: t["Value"] for t in ctx.target.client("s3").get_bucket_tagging(Bucket=_data_lake(ctx))["TagSet"]
        }
    except ClientError:
        tags = None
    if tags is None:
        found.append(Finding(f"bucket {_data_lake(ctx)}", False, "does not exist"))
    else:
        ours = tags.get("ManagedBy") == "terraform" and "CreatedBy" not in tags
        text = "made by the stack" if ours else f"still the hand-made one (tags {tags})"
        found.append(Finding(f"bucket {_data_lake(ctx)}", ours, text))
    return found


# -- stale-plan -----------------------------------------------------------------------------------------------

ADDED = """
resource "terraform_data" "cache" {
  input = "aipx-${var.environment}-cache"
}
"""


def setup_stale_plan(ctx: StageContext) -> Scene:
    reset_emulator(ctx)
    backend_ready(ctx)
    initialised(ctx)
    stages.plan(ctx)
    (ctx.stack_dir / "cache.tf").write_text(ADDED)
    error = failure_of(stages.apply, ctx, auto_approve=True)
    done = [
        f"stage 03 saved a plan of the stack in {ctx.run_dir}; it was reviewed and approved",
        "then a teammate's change was merged into the stack (cache.tf: a new cache), and the apply started",
    ]
    return failed_scene("A plan the stack moved away from", done, error)


def check_stale_plan(ctx: StageContext, _: dict[str, Any]) -> list[Finding]:
    return finished(ctx, ["terraform_data.service", "terraform_data.cache"])


# -- the drills -----------------------------------------------------------------------------------------------

RESOURCE_CONFLICT = Drill(
    number="03",
    name="resource-conflict",
    title="Resource conflict: a resource of that name already exists",
    goal="find the resource in the way, decide it is a leftover, remove it, and apply",
    teaches="reading 'already exists' errors (MSK ConflictException, S3 BucketAlreadyOwnedByYou); import, "
    "delete or rename",
    minutes=15,
    stack="resource-conflict",
    row="3. 리소스 충돌 (ConflictException / already exists)",
    story="A new environment's first apply. Someone had tried things by hand in this account before.",
    sees="The apply fails with **BucketAlreadyOwnedByYou**: the data lake bucket already exists.",
    task="Find the bucket in the way and whose it is; it is an empty leftover, so remove it; then plan and "
    "apply with " + STACK_NOTE + ".",
    hints=(
        "`training.console.buckets()` lists the buckets with their tags and object counts.",
        "The README's fix: check the existing resource, then delete it or use another name (a resource with "
        "data would be imported instead). This one is empty and tagged CreatedBy=manual-test.",
        "`training.console.delete_bucket('aipx-dev-data-lake')`, then " + PIPELINE + ".",
    ),
    setup=setup_resource_conflict,
    check=check_resource_conflict,
)

HALF_APPLIED = Drill(
    number="08",
    name="half-applied",
    title="A half-applied plan",
    goal="finish an apply that failed half-way, keeping what it created",
    teaches="what Terraform keeps after a failed apply (state list), tainted resources, and why the next plan "
    "adds only the rest",
    minutes=10,
    stack="half-applied",
    story="Stage 04 failed at the last resource: the build had not uploaded the function's code yet. It has now.",
    sees="Stage 04 failed with **the code package is not there**; it lists what is already in the state.",
    task="Find out what the state holds, then finish the job with the runbook, using " + STACK_NOTE + "; "
    "nothing already created may be destroyed.",
    hints=(
        "`notebooks/07_state_and_locks.ipynb` shows what the state holds and that no lock is left.",
        "A plan is applied once: the failed one is gone. Plan again and read it: what does it add, and what "
        "does it replace?",
        "Run " + PIPELINE + ": only the function is made (again).",
    ),
    setup=setup_half_applied,
    check=check_half_applied,
)

STALE_PLAN = Drill(
    number="09",
    name="stale-plan",
    title="A plan saved before the stack changed",
    goal="understand why apply refuses the saved plan, and apply what was really reviewed",
    teaches="apply applies only the plan this run saved, for this stack as it is now; review again after a change",
    minutes=5,
    stack="stale-plan",
    story="Your plan was reviewed this morning. A teammate's change was merged before you applied.",
    sees="Stage 04 refuses: **the stack or the environment's aws.tfvars changed since the plan was made**.",
    task="Plan again, review what is new, and apply, with " + STACK_NOTE + ".",
    hints=(
        "The refusal is the safety rule working: the saved plan was not made from the stack as it is now.",
        "Stage 03 again shows the teammate's change (one more resource).",
        "Run " + PIPELINE + ".",
    ),
    setup=setup_stale_plan,
    check=check_stale_plan,
)
