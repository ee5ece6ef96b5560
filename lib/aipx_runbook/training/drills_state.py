"""Drills on the state and its lock: a stale lock after a killed apply, and a state version to restore. Each
runs on its own drill stack (built-in resources only)."""

from __future__ import annotations

from typing import Any

from python_terraform import IsFlagged

from .. import state
from ..context import StageContext
from ..errors import RunbookError
from .drill import DRILL_STACK_PIPELINE as PIPELINE
from .drill import STACK_NOTE, Drill, Scene, failed_scene
from .inspect import Finding, digest_matches, finished, replaced_findings, resource_ids
from .scene import apply_directly, backend_ready, failure_of, initialised, killed_apply, reset_emulator

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
    return failed_scene("A stale state lock", done, error, lock_id=locks[0].id)


def check_stale_lock(ctx: StageContext, _: dict[str, Any]) -> list[Finding]:
    return finished(ctx, ["terraform_data.network", "terraform_data.service"])


# -- state-restore --------------------------------------------------------------------------------------------

RESTORE_RESOURCES = ["terraform_data.network", "terraform_data.database", "terraform_data.queue"]


def setup_state_restore(ctx: StageContext) -> Scene:
    reset_emulator(ctx)
    backend_ready(ctx)
    apply_directly(ctx)
    ids = resource_ids(ctx)
    initialised(ctx).run("state rm", "terraform_data.database", no_color=IsFlagged)
    runner = initialised(ctx)
    plan = runner.run(
        "plan", input=False, no_color=IsFlagged, detailed_exitcode=IsFlagged, **runner.variable_arguments()
    )
    return failed_scene(
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
        ids=ids,
    )


def check_state_restore(ctx: StageContext, remembered: dict[str, Any]) -> list[Finding]:
    found = finished(ctx, RESTORE_RESOURCES)
    found += replaced_findings(ctx, remembered.get("ids", {}), "id {now}: a new resource, not the original {was}")
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


# -- the drills -----------------------------------------------------------------------------------------------

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
