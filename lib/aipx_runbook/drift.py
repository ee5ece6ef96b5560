"""Drift detection: do the code and the environment still agree? Stages 00-03 only: refresh and plan, no apply.

`aipx-runbook drift --env ENV` runs the prerequisites, checks the state backend (it only creates one that is
missing, and never changes an existing one: ``fix_drift`` stays False), init and plan, then reads the plan's
record (``tfplan.record.json``): resources Terraform found changed or deleted outside it during refresh
(``resource_drift``), and the changes a plan would make. The environment and its code disagree (exit 3) when the
plan would change anything: a resource changed or deleted outside Terraform in a way the code sets (the plan puts it
back), or code not applied yet. A change outside Terraform to something the code does not set (a computed attribute,
say) is listed but is no disagreement: Terraform keeps it. The outcome goes to ``drift.json`` in the run directory.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import runbook
from .plan_record import ChangeRecord, DriftRecord, OutputRecord, PlanRecord, record_path
from .run_result import RunResult, StageOutcome

READ_ONLY_STAGES = ("00", "01", "02", "03")
DRIFT_FILE = "drift.json"


@dataclass
class DriftOutcome:
    environment: str
    stack: str
    target: str
    run_dir: str
    drifted: list[DriftRecord] = field(default_factory=list)
    pending: list[ChangeRecord] = field(default_factory=list)
    pending_outputs: list[OutputRecord] = field(default_factory=list)

    @property
    def agree(self) -> bool:
        return not (self.pending or self.pending_outputs)

    @classmethod
    def from_record(cls, record: PlanRecord, run_dir: Path) -> DriftOutcome:
        return cls(
            record.environment,
            record.stack,
            record.target,
            str(run_dir),
            list(record.drift),
            list(record.resource_changes),
            list(record.outputs),
        )

    def write(self) -> Path:
        path = Path(self.run_dir) / DRIFT_FILE
        path.write_text(json.dumps({"agree": self.agree, **asdict(self)}, indent=2))
        return path

    def lines(self) -> list[str]:
        where = f"{self.environment} ({self.stack} on {self.target})"
        lines = [
            f"no drift: the code and {where} agree"
            if self.agree
            else f"DRIFT  {where}: the environment and its code disagree"
        ]
        if self.drifted:
            lines.append(f"changed outside Terraform ({len(self.drifted)}):")
            for item in self.drifted:
                how = "deleted" if item.action == "delete" else "changed: " + ", ".join(item.attributes)
                effect = "the plan puts it back" if item.corrected else "not set by the code: Terraform keeps it"
                lines.append(f"  {item.address}  {how} ({effect})")
        if self.agree:
            return lines
        if self.pending or self.pending_outputs:
            lines.append(
                f"what a plan would change ({len(self.pending)} resources, {len(self.pending_outputs)} outputs):"
            )
            lines += [f"  {c.address}  {c.action}" for c in self.pending]
            lines += [f"  output {o.name}  {o.action}" for o in self.pending_outputs]
        lines.append(
            "fix: apply the code to put the environment back (review the plan first), or change the code to match "
            "what was changed on purpose"
        )
        return lines


def check(
    environment: str,
    target: str = "local",
    stack: str = "",
    on_stage: Callable[[StageOutcome], None] | None = None,
) -> tuple[RunResult, DriftOutcome | None]:
    """Run stages 00-03 and compare; the outcome is None when a stage failed (the run result says why)."""
    result = runbook.run(environment, target=target, stack=stack, stage_names=READ_ONLY_STAGES, on_stage=on_stage)
    if result.failed is not None:
        return result, None
    outcome = DriftOutcome.from_record(PlanRecord.read(record_path(result.run_dir)), result.run_dir)
    outcome.write()
    return result, outcome
