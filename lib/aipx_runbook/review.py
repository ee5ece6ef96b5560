"""A plan review from ``terraform show -json``: counts, resource changes, output changes.

Values are never copied out of the plan JSON, which holds sensitive values in clear text; only
addresses, actions and names are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .results import Report, Table

ACTION_ORDER = {"delete": 0, "replace": 1, "update": 2, "create": 3, "read": 4, "no-op": 5}


def action_of(actions: list[str]) -> str:
    if set(actions) == {"create", "delete"}:
        return "replace"
    return actions[0] if actions else "no-op"


@dataclass
class PlanReview:
    resource_changes: list[tuple[str, str]] = field(default_factory=list)
    output_changes: list[tuple[str, str, bool]] = field(default_factory=list)

    @classmethod
    def from_show_json(cls, plan: dict[str, Any]) -> PlanReview:
        resources = [
            (change["address"], action_of(change["change"]["actions"]))
            for change in plan.get("resource_changes", [])
            if action_of(change["change"]["actions"]) not in ("no-op", "read")
        ]
        resources.sort(key=lambda item: (ACTION_ORDER[item[1]], item[0]))
        outputs = [
            (name, action_of(change["actions"]), bool(change.get("after_sensitive") or change.get("before_sensitive")))
            for name, change in sorted(plan.get("output_changes", {}).items())
            if action_of(change["actions"]) != "no-op"
        ]
        return cls(resources, outputs)

    @property
    def counts(self) -> dict[str, int]:
        actions = [action for _, action in self.resource_changes]
        return {
            "add": actions.count("create") + actions.count("replace"),
            "change": actions.count("update"),
            "destroy": actions.count("delete") + actions.count("replace"),
            "outputs_changed": len(self.output_changes),
        }

    @property
    def has_changes(self) -> bool:
        return bool(self.resource_changes or self.output_changes)

    def report(self, title: str) -> Report:
        counts = self.counts
        summary = (
            f"{counts['add']} to add, {counts['change']} to change, {counts['destroy']} to destroy; "
            f"{counts['outputs_changed']} output(s) changing"
            if self.has_changes
            else "No changes. The infrastructure matches the configuration."
        )
        tables = []
        if self.resource_changes:
            tables.append(Table(["resource", "action"], [list(row) for row in self.resource_changes], "Resources"))
        if self.output_changes:
            rows = [
                [name, action, "sensitive (masked)" if sensitive else ""]
                for name, action, sensitive in self.output_changes
            ]
            tables.append(Table(["output", "action", ""], rows, "Outputs"))
        return Report(title, "changed" if self.has_changes else "ok", summary, facts=dict(counts), tables=tables)
