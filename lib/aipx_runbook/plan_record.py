"""The plan's record in the run directory: what a reviewer, the PR comment, drift detection and apply need, as data.

Stage 03 writes ``<plan>.record.json`` beside ``<plan>.meta.json`` when it saves a plan, so nothing later has to
run Terraform again (or read the plan, which holds secrets) to report on it. The record holds no secret: resource
addresses, actions and the attribute paths that force a replacement or drifted; output names, whether each is
sensitive, and the value only of the others; the cost before and after per component; and ``changes_digest``,
a SHA-256 over every resource and output change with the values Terraform marks sensitive left out, so the same
change planned again (on the pull request, then at apply time) has the same digest, and any other change does not.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .costing import estimates
from .errors import RunbookError
from .review import PlanReview, _path_text

if TYPE_CHECKING:  # plans.py writes these records: its description type is only named here
    from .plans import PlanMetadata

SCHEMA = 1
SENSITIVE = "(sensitive)"
MAX_DRIFT_PATHS = 12
IGNORED_ACTIONS = (["no-op"], ["read"])


@dataclass(frozen=True)
class ChangeRecord:
    address: str
    type: str
    action: str
    component: str
    replace_paths: list[str] = field(default_factory=list)
    reason: str = ""


@dataclass(frozen=True)
class DriftRecord:
    address: str
    type: str
    action: str  # update: changed outside Terraform; delete: deleted outside Terraform
    attributes: list[str] = field(default_factory=list)  # paths that differ (values never copied)
    corrected: bool = False  # the plan changes this resource (puts back what the code sets)


@dataclass(frozen=True)
class OutputRecord:
    name: str
    action: str
    sensitive: bool
    value: str  # the review's text: masked when sensitive


@dataclass(frozen=True)
class CostRecord:
    price_table_date: str
    before_usd: float
    after_usd: float
    components: dict[str, list[float]]  # component -> [before, after], USD per month on demand
    unpriced: list[str] = field(default_factory=list)
    note: str = ""


@dataclass
class PlanRecord:
    environment: str
    stack: str
    target: str
    stack_digest: str
    terraform_version: str
    created_at: str
    plan_sha256: str
    destroy: bool
    counts: dict[str, int]
    changes_digest: str
    resource_changes: list[ChangeRecord]
    drift: list[DriftRecord]
    outputs: list[OutputRecord]
    cost: CostRecord | None = None
    schema: int = SCHEMA

    @property
    def has_changes(self) -> bool:
        return bool(self.resource_changes or self.outputs)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlanRecord:
        values = dict(data)
        values["resource_changes"] = [ChangeRecord(**c) for c in data.get("resource_changes", [])]
        values["drift"] = [DriftRecord(**d) for d in data.get("drift", [])]
        values["outputs"] = [OutputRecord(**o) for o in data.get("outputs", [])]
        values["cost"] = CostRecord(**data["cost"]) if data.get("cost") else None
        return cls(**values)

    @classmethod
    def read(cls, path: Path) -> PlanRecord:
        """A record from a file; RunbookError (what/why/fix) when it is missing or not a plan record."""
        fix = "pass the record stage 03 wrote (tfplan.record.json in the run directory, or the PR's artifact)"
        try:
            data = json.loads(Path(path).read_text())
            if data.get("schema") != SCHEMA:
                raise ValueError(f"schema {data.get('schema')!r}, expected {SCHEMA}")
            return cls.from_dict(data)
        except FileNotFoundError:
            raise RunbookError("read the plan record", f"{path} does not exist", fix) from None
        except (OSError, ValueError, TypeError, KeyError) as error:
            raise RunbookError("read the plan record", f"{path} is not a plan record ({error})", fix) from None


def record_path(run_dir: Path, plan_name: str = "tfplan") -> Path:
    return Path(run_dir) / f"{plan_name}.record.json"


# ---- the digest ------------------------------------------------------------------------------------------


def redact(value: Any, sensitive: Any) -> Any:
    """``value`` with every part Terraform marks sensitive (a bool, or a structure of bools) replaced."""
    if sensitive is True:
        return SENSITIVE
    if isinstance(value, dict):
        marks = sensitive if isinstance(sensitive, dict) else {}
        return {key: redact(item, marks.get(key)) for key, item in value.items()}
    if isinstance(value, list):
        marks = sensitive if isinstance(sensitive, list) else []
        return [redact(item, marks[i] if i < len(marks) else None) for i, item in enumerate(value)]
    return value


def _hash(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def change_fingerprint(change: dict[str, Any]) -> str:
    """One change (``change`` block of a resource or output change) as a hash that keeps no sensitive value."""
    return _hash(
        {
            "actions": change.get("actions"),
            "before": redact(change.get("before"), change.get("before_sensitive")),
            "after": redact(change.get("after"), change.get("after_sensitive")),
            "after_unknown": change.get("after_unknown"),
            "replace_paths": change.get("replace_paths"),
        }
    )


def changes_digest(plan: dict[str, Any]) -> str:
    """SHA-256 over the plan's resource and output changes (addresses, actions, redacted before/after)."""
    entries = [
        ["resource", c["address"], c["change"]["actions"], change_fingerprint(c["change"])]
        for c in plan.get("resource_changes", [])
        if c["change"]["actions"] not in IGNORED_ACTIONS
    ]
    entries += [
        ["output", name, change["actions"], change_fingerprint(change)]
        for name, change in plan.get("output_changes", {}).items()
        if change["actions"] not in IGNORED_ACTIONS
    ]
    return _hash(sorted(entries))


# ---- drift -----------------------------------------------------------------------------------------------


def differing_paths(before: Any, after: Any, path: tuple[Any, ...] = ()) -> list[str]:
    """Attribute paths whose values differ between two states of a resource (values are never returned)."""
    if isinstance(before, dict) and isinstance(after, dict):
        found: list[str] = []
        for key in sorted(set(before) | set(after)):
            found += differing_paths(before.get(key), after.get(key), (*path, key))
        return found
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        found = []
        for index, (left, right) in enumerate(zip(before, after, strict=True)):
            found += differing_paths(left, right, (*path, index))
        return found
    return [] if before == after else [_path_text(list(path)) or "(whole resource)"]


def drift_records(plan: dict[str, Any]) -> list[DriftRecord]:
    planned = {c["address"] for c in plan.get("resource_changes", []) if c["change"]["actions"] not in IGNORED_ACTIONS}
    records = []
    for item in plan.get("resource_drift", []):
        change = item["change"]
        actions = change["actions"]
        if "delete" in actions:
            action, paths = "delete", []
        elif actions == ["update"]:
            action, paths = "update", differing_paths(change.get("before"), change.get("after"))
        else:
            continue
        if len(paths) > MAX_DRIFT_PATHS:
            paths = paths[:MAX_DRIFT_PATHS] + [f"… {len(paths) - MAX_DRIFT_PATHS} more"]
        records.append(DriftRecord(item["address"], item.get("type", ""), action, paths, item["address"] in planned))
    return sorted(records, key=lambda r: r.address)


# ---- cost ------------------------------------------------------------------------------------------------


def cost_record(environment: str, plan: dict[str, Any], sha256: str = "") -> CostRecord | None:
    try:
        priced = estimates.of_plan(environment, plan, sha256)
        planned, current = priced.planned, priced.current
    except RunbookError as error:
        return CostRecord("", 0.0, 0.0, {}, note=f"no estimate: {error.why}")
    except (KeyError, ValueError, TypeError) as error:  # a stack the estimate does not know: the plan still stands
        return CostRecord("", 0.0, 0.0, {}, note=f"no estimate: the plan could not be priced ({error!r})")
    before, after = current.by_component(), planned.by_component()
    note = "" if planned.lines or current.lines else "the plan holds none of the priced resources"
    return CostRecord(
        price_table_date=planned.table.date,
        before_usd=round(current.on_demand, 2),
        after_usd=round(planned.on_demand, 2),
        components={name: [round(before[name], 2), round(after[name], 2)] for name in before},
        unpriced=sorted(set(planned.unpriced) | set(current.unpriced)),
        note=note,
    )


# ---- building and writing ----------------------------------------------------------------------------------


def build(metadata: PlanMetadata, review: PlanReview, plan: dict[str, Any]) -> PlanRecord:
    return PlanRecord(
        environment=metadata.environment,
        stack=metadata.stack,
        target=metadata.target,
        stack_digest=metadata.stack_digest,
        terraform_version=metadata.terraform_version,
        created_at=metadata.created_at,
        plan_sha256=metadata.sha256,
        destroy=metadata.destroy,
        counts=review.counts,
        changes_digest=changes_digest(plan),
        resource_changes=[
            ChangeRecord(c.address, c.resource_type, c.action, c.component, list(c.replace_paths), c.reason)
            for c in review.resource_changes
        ],
        drift=drift_records(plan),
        outputs=[OutputRecord(o.name, o.action, o.sensitive, o.value) for o in review.output_changes],
        cost=cost_record(metadata.environment, plan, metadata.sha256),
    )


def write(run_dir: Path, plan_name: str, record: PlanRecord) -> Path:
    target = record_path(run_dir, plan_name)
    partial = target.with_name(target.name + ".partial")
    partial.write_text(record.to_json())
    os.replace(partial, target)
    return target
