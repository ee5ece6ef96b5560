"""Drills on state and applies: a stale lock, a state to restore, a half-applied plan, a conflicting
resource, a plan the stack moved away from. Each runs on its own drill stack (built-in resources only)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from python_terraform import IsFlagged

from .. import stages, state
from ..context import StageContext
from ..errors import RunbookError
from .drill import Drill, Scene
from .drills_backend import scene_report
from .inspect import Finding, applied_findings, digest_matches, lock_findings, resources, state_document
from .scene import apply_directly, backend_ready, failure_of, initialised, killed_apply, reset_emulator

PIPELINE = "stages 03 (plan) and 04 (apply, auto_approve=True)"


def _stack_parameters(ctx: StageContext) -> str:
    return f"environment = '{ctx.environment}', stack = '{ctx.stack_dir}'"


# -- stale-lock -----------------------------------------------------------------------------------------------


def setup_stale_lock(ctx: StageContext) -> Scene:
    reset_emulator(ctx)
    backend_ready(ctx)
    killed_apply(ctx, "Provisioning with 'local-exec'", pause=3600)
    locks = state.held_locks(ctx)
    if not locks:
        raise RunbookError("set the scene", "the killed apply left no lock", "set the drill up again")
    runner = initialised(ctx)
    error = failure_of(
        runner.run, "plan", input=False, no_color=IsFlagged, lock_timeout="0s", **runner.variable_arguments()
    )
    done = [
        "an apply of the stack, killed with SIGKILL while it deployed the service (a cancelled CI job, a closed "
        "laptop): Terraform had no chance to release its lock",
    ]
    return Scene(scene_report("A stale state lock", done, error), {"lock_id": locks[0].id})


def check_stale_lock(ctx: StageContext, _: dict[str, Any]) -> list[Finding]:
    return lock_findings(ctx) + applied_findings(ctx, ["terraform_data.network", "terraform_data.service"])


# -- state-restore --------------------------------------------------------------------------------------------

RESTORE_RESOURCES = ["terraform_data.network", "terraform_data.database", "terraform_data.queue"]


def setup_state_restore(ctx: StageContext) -> Scene:
    reset_emulator(ctx)
    backend_ready(ctx)
    apply_directly(ctx)
    ids = {address: item["id"] for address, item in resources(state_document(ctx)).items()}
    initialised(ctx).run("state rm", "terraform_data.database", no_color=IsFlagged)
    runner = initialised(ctx)
    plan = runner.run(
        "plan", input=False, no_color=IsFlagged, detailed_exitcode=IsFlagged, **runner.variable_arguments()
    )
    report = scene_report(
        "The state lost a resource",
        [
            "the stack was applied: network, database and queue exist and are in the state",
            "then a colleague 'cleaned up' with `terraform state rm terraform_data.database`: the database still "
            "exists, but the state forgot it",
        ],
        RunbookError(
            "terraform plan",
            "it wants to create terraform_data.database again: a second database beside the real one",
            "do not apply this plan; bring the state back to the version before the state rm",
            details="\n".join(
                line for line in plan.stdout.splitlines() if "will be created" in line or "Plan:" in line
            ),
        ),
    )
    return Scene(report, {"ids": ids})


def check_state_restore(ctx: StageContext, remembered: dict[str, Any]) -> list[Finding]:
    found = lock_findings(ctx) + applied_findings(ctx, RESTORE_RESOURCES)
    held = resources(state_document(ctx))
    for address, original in remembered.get("ids", {}).items():
        now = held.get(address, {}).get("id")
        if now and now != original:
            found.append(Finding(address, False, f"id {now}: a new resource, not the original {original}"))
    matches = digest_matches(ctx)
    found.append(
        Finding(
            "lock table checksum",
            matches is not False,
            "matches the state object"
            if matches
            else "differs: the state object was copied by hand, so Terraform "
            "refuses it; push it with `terraform state push -force` instead",
        )
    )
    return found


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
    ids = {address: item["id"] for address, item in resources(state_document(ctx)).items()}
    s3 = ctx.target.client("s3")
    s3.create_bucket(Bucket=_artifacts(ctx), CreateBucketConfiguration={"LocationConstraint": ctx.region})
    s3.put_object(Bucket=_artifacts(ctx), Key="strategy-worker.zip", Body=b"PK\x05\x06" + b"\0" * 18)
    done = [
        "stage 03 planned the stack, and stage 04 applied it while the build had not yet uploaded the function's "
        f"code package to s3://{_artifacts(ctx)}/",
        "the network and the database were created; the function failed. The build has finished since.",
    ]
    return Scene(scene_report("A half-applied plan", done, error), {"ids": ids})


def check_half_applied(ctx: StageContext, remembered: dict[str, Any]) -> list[Finding]:
    found = lock_findings(ctx) + applied_findings(ctx, HALF_RESOURCES)
    held = resources(state_document(ctx))
    for address, original in remembered.get("ids", {}).items():
        now = held.get(address, {}).get("id")
        if address != "terraform_data.function" and now and now != original:
            found.append(
                Finding(address, False, f"replaced (id {now}, was {original}): it was destroyed and made again")
            )
    return found


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
    return Scene(scene_report("A resource that already exists", done, error))


def check_resource_conflict(ctx: StageContext, _: dict[str, Any]) -> list[Finding]:
    found = lock_findings(ctx) + applied_findings(ctx, ["terraform_data.data_lake"])
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
    return Scene(scene_report("A plan the stack moved away from", done, error))


def check_stale_plan(ctx: StageContext, _: dict[str, Any]) -> list[Finding]:
    return lock_findings(ctx) + applied_findings(ctx, ["terraform_data.service", "terraform_data.cache"])


# -- the drills -----------------------------------------------------------------------------------------------

STACK_NOTE = "the runbook's notebooks with `stack` set to the drill stack's path (shown when the drill is set up)"

STALE_LOCK = Drill(
    number="05",
    name="stale-lock",
    title="A stale lock after a killed apply",
    goal="prove the lock's holder is gone, release exactly that lock, and finish the apply",
    teaches="who holds a lock and since when (notebook 07); why a live lock must never be released; confirm_lock_id",
    minutes=10,
    stack="stale-lock",
    story="Last night's apply was cancelled mid-way (the CI runner was recycled).",
    sees="Every plan and apply stops with **Error acquiring the state lock**, naming the lock's ID, holder, "
    "operation and age.",
    task="Find out who holds the lock and whether that run is still alive; release it with the runbook; then "
    "plan and apply, using " + STACK_NOTE + ".",
    hints=(
        "Open `notebooks/07_state_and_locks.ipynb` with the drill's stack: its lock cell shows the holder, the "
        "operation and the lock's age.",
        "The apply that took it was killed: no Terraform process works on this environment. Releasing needs the "
        "lock's ID, repeated as `confirm_lock_id`.",
        "Run 07 with `confirm_lock_id = '<the lock ID it shows>'`, then " + PIPELINE + ".",
    ),
    setup=setup_stale_lock,
    check=check_stale_lock,
)

STATE_RESTORE = Drill(
    number="07",
    name="state-restore",
    title="Restore an earlier version of the state",
    goal="bring back the state version from before a bad `terraform state rm`, without creating duplicates",
    teaches="the versioned state bucket as the undo button; `terraform state push`; why not to copy the object "
    "by hand (the lock table's checksum)",
    minutes=20,
    stack="state-restore",
    story="A colleague tidied up the state with `terraform state rm`. The resource still exists.",
    sees="Stage 03 plans to **create terraform_data.database** again: it would make a second database.",
    task="Do not apply. Use notebook 07 to see the state's versions and restore the one before the state rm, "
    "using " + STACK_NOTE + "; then plan: nothing should change.",
    hints=(
        "`notebooks/07_state_and_locks.ipynb` lists the versions of the state object, newest first.",
        "Below the list it prints the shell commands that restore the previous version: run them in a terminal "
        "(JupyterLab: File › New › Terminal), one by one.",
        "`terraform state push -force` is the step that writes it: Terraform takes the lock and updates the "
        "checksum. Then run stage 03: the plan must show no changes.",
    ),
    setup=setup_state_restore,
    check=check_state_restore,
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
