"""Apply what was reviewed: stage 04 refuses a plan that differs from the one shown on the pull request.

The pull request's plan job uploads its run directory, with ``tfplan.record.json`` (plan_record.py). The apply job
downloads that record and passes it as ``expected_plan``; stage 04 then compares it with the record of the plan it
is about to apply: same environment, stack, target, stack digest (the stack's files and aws.tfvars), plan counts,
and the same resource and output changes (``changes_digest``, which holds no secret). Any difference is refused
before Terraform runs, saying what differs.
"""

from __future__ import annotations

from pathlib import Path

from .errors import RunbookError
from .plan_record import PlanRecord

COMPARED_COUNTS = ("add", "change", "destroy", "replace", "delete", "import", "outputs_changed")
FIX = (
    "nothing was applied. What changed since the review needs a review too: push it to a pull request, read the "
    "plan comment there, merge, and run the apply again with that pull request's record"
)


def differences(reviewed: PlanRecord, current: PlanRecord) -> list[str]:
    """What differs between the reviewed plan's record and the current one; empty when they match."""
    found = []
    for name in ("environment", "stack", "target", "destroy"):
        if getattr(reviewed, name) != getattr(current, name):
            found.append(f"{name}: reviewed {getattr(reviewed, name)!r}, now {getattr(current, name)!r}")
    if reviewed.stack_digest != current.stack_digest:
        found.append(
            f"stack digest: reviewed {reviewed.stack_digest[:12]}, now {current.stack_digest[:12]} (the stack's "
            "files or the environment's aws.tfvars changed since the review)"
        )
    counts = [
        f"{key} {reviewed.counts.get(key, 0)} → {current.counts.get(key, 0)}"
        for key in COMPARED_COUNTS
        if reviewed.counts.get(key, 0) != current.counts.get(key, 0)
    ]
    if counts:
        found.append("plan counts: " + ", ".join(counts))
    if reviewed.changes_digest != current.changes_digest:
        found.append(
            f"resource changes: reviewed digest {reviewed.changes_digest[:12]}, now {current.changes_digest[:12]}"
            + _address_difference(reviewed, current)
        )
    return found


def _address_difference(reviewed: PlanRecord, current: PlanRecord) -> str:
    before = {(c.address, c.action) for c in reviewed.resource_changes}
    after = {(c.address, c.action) for c in current.resource_changes}
    parts = [f"not reviewed: {a} ({x})" for a, x in sorted(after - before)[:5]]
    parts += [f"reviewed, no longer planned: {a} ({x})" for a, x in sorted(before - after)[:5]]
    return " (" + "; ".join(parts) + ")" if parts else " (same resources and actions, different values)"


def require_match(expected_plan: str, current_path: Path, plan_sha256: str) -> PlanRecord:
    """The reviewed record, once it matches the record of the saved plan (``plan_sha256``) about to be applied;
    RunbookError saying what differs otherwise."""
    reviewed = PlanRecord.read(Path(expected_plan))
    current = PlanRecord.read(current_path)
    if current.plan_sha256 != plan_sha256:
        raise RunbookError(
            "apply the reviewed plan",
            f"{current_path.name} describes another plan than the saved one (sha256 {current.plan_sha256[:12]}, "
            f"saved {plan_sha256[:12]}); nothing was applied",
            "run stage 03 (plan) again in this run directory, then apply",
        )
    found = differences(reviewed, current)
    if found:
        raise RunbookError(
            "apply the reviewed plan",
            f"the plan about to be applied is not the one reviewed ({Path(expected_plan).name}, planned "
            f"{reviewed.created_at}): " + "; ".join(found),
            FIX,
        )
    return reviewed
