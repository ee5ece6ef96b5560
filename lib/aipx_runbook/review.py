"""A plan review from ``terraform show -json``: what changes, what is destroyed, what drifted, per component.

The plan JSON holds sensitive values in clear text. Only addresses, actions, attribute paths and the values of
outputs Terraform does not mark sensitive are copied out of it; a sensitive output shows as masked.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from . import charts
from .contract import COMPONENTS, MASK
from .results import Report, Table
from .timings import measure

ACTION_ORDER = {"delete": 0, "replace": 1, "update": 2, "create": 3, "import": 4, "forget": 5}
DESTRUCTIVE = ("delete", "replace")
ACTION_COLOURS = {"delete": "#cf222e", "replace": "#bc4c00", "update": "#0969da", "create": "#1a7f37"}
# The attribute naming a resource that could be the state bucket or the lock table.
BACKEND_NAME_ATTRIBUTES = {"aws_s3_bucket": "bucket", "aws_dynamodb_table": "name"}
SHARED = "shared"

# Resource types that belong to one component, by prefix (first match wins).
TYPE_PREFIXES: tuple[tuple[str, str], ...] = (
    ("aws_apigateway", "api"),
    ("aws_api_gateway", "api"),
    ("aws_msk_", "streaming"),
    ("aws_kafka", "streaming"),
    ("aws_elasticache_", "cache"),
    ("aws_db_", "database"),
    ("aws_rds_", "database"),
    ("aws_s3_", "storage"),
    ("aws_ecs_", "compute"),
    ("aws_ecr_", "compute"),
    ("aws_service_discovery_", "compute"),
    ("aws_appautoscaling_", "compute"),
    ("aws_lambda_", "functions"),
    ("aws_sqs_", "functions"),
    ("aws_vpc", "network"),
    ("aws_subnet", "network"),
    ("aws_route", "network"),
    ("aws_internet_gateway", "network"),
    ("aws_nat_gateway", "network"),
    ("aws_eip", "network"),
    ("aws_security_group", "network"),
    ("aws_default_security_group", "network"),
    ("aws_network_acl", "network"),
    ("aws_flow_log", "network"),
)
# Types that serve whichever component their name says (an IAM role for RDS monitoring belongs to the database).
GLUE_PREFIXES = ("aws_iam_", "aws_kms_", "aws_cloudwatch_", "aws_lambda_permission", "aws_secretsmanager_", "aws_ssm_")
NAME_KEYWORDS: tuple[tuple[str, frozenset[str]], ...] = (
    ("api", frozenset({"api", "apigateway"})),
    ("streaming", frozenset({"msk", "kafka"})),
    ("cache", frozenset({"redis", "elasticache", "cache"})),
    ("database", frozenset({"rds", "db", "database", "postgres"})),
    ("storage", frozenset({"s3", "lake", "bucket"})),
    ("compute", frozenset({"ecs", "oms", "ingestion", "task", "fargate"})),
    ("functions", frozenset({"lambda", "function", "functions"})),
    ("network", frozenset({"vpc", "flow", "subnet", "nat"})),
)


def action_of(actions: list[str], importing: bool = False) -> str:
    """Terraform's action list as one word: ["delete", "create"] in either order is a replacement."""
    if set(actions) == {"create", "delete"}:
        return "replace"
    action = actions[0] if actions else "no-op"
    return "import" if action == "no-op" and importing else action


def _name_tokens(address: str) -> set[str]:
    last = address.rsplit(".", 1)[-1]
    return set(re.split(r"[_\-\[\]\"]+", last.lower())) - {""}


def component_of(address: str, resource_type: str) -> str:
    """The component (network, streaming, …, api) a resource belongs to; ``shared`` when none fits."""
    if address.startswith("module.vpc."):
        return "network"
    by_type = next((component for prefix, component in TYPE_PREFIXES if resource_type.startswith(prefix)), None)
    if by_type is not None and not resource_type.startswith(GLUE_PREFIXES):
        return by_type
    tokens = _name_tokens(address)
    by_name = next((component for component, words in NAME_KEYWORDS if tokens & words), None)
    return by_name or by_type or SHARED


def _path_text(path: list[Any]) -> str:
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text


def _any_sensitive(marker: Any) -> bool:
    """``after_sensitive`` is a bool, or a structure of bools mirroring the value."""
    if isinstance(marker, dict):
        return any(_any_sensitive(v) for v in marker.values())
    if isinstance(marker, list):
        return any(_any_sensitive(v) for v in marker)
    return bool(marker)


def _shown(value: Any, unknown: Any) -> str:
    if unknown is True:
        return "(known after apply)"
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "…"


@dataclass(frozen=True)
class ResourceChange:
    address: str
    resource_type: str
    action: str
    component: str
    replace_paths: tuple[str, ...] = ()
    reason: str = ""
    backend_name: str = ""

    @property
    def destructive(self) -> bool:
        return self.action in DESTRUCTIVE

    @classmethod
    def from_json(cls, change: dict[str, Any]) -> ResourceChange:
        body = change["change"]
        paths = tuple(_path_text(path) for path in body.get("replace_paths") or [])
        resource_type = change.get("type", "")
        prior = body.get("before") or body.get("after") or {}
        return cls(
            address=change["address"],
            resource_type=resource_type,
            action=action_of(body["actions"], bool(body.get("importing"))),
            component=component_of(change["address"], resource_type),
            replace_paths=paths,
            reason=(change.get("action_reason") or "").replace("_", " "),
            backend_name=str(prior.get(BACKEND_NAME_ATTRIBUTES.get(resource_type, ""), "") or ""),
        )


@dataclass(frozen=True)
class OutputChange:
    name: str
    action: str
    sensitive: bool
    value: str


@dataclass
class PlanReview:
    resource_changes: list[ResourceChange] = field(default_factory=list)
    drift: list[ResourceChange] = field(default_factory=list)
    output_changes: list[OutputChange] = field(default_factory=list)
    # Changes to the state backend found by protection.refusals (set by plans.save and plans.review).
    protected: list[Any] = field(default_factory=list)

    @classmethod
    def from_show_json(cls, plan: dict[str, Any]) -> PlanReview:
        changes = [ResourceChange.from_json(c) for c in plan.get("resource_changes", [])]
        changes = [c for c in changes if c.action in ACTION_ORDER]
        changes.sort(key=lambda c: (ACTION_ORDER[c.action], c.address))
        drift = [ResourceChange.from_json(c) for c in plan.get("resource_drift", [])]
        drift = sorted((c for c in drift if c.action in ("update", "delete")), key=lambda c: c.address)
        outputs = []
        for name, change in sorted(plan.get("output_changes", {}).items()):
            action = action_of(change["actions"])
            if action == "no-op":
                continue
            sensitive = _any_sensitive(change.get("after_sensitive")) or _any_sensitive(change.get("before_sensitive"))
            value = MASK if sensitive else _shown(change.get("after"), change.get("after_unknown"))
            outputs.append(OutputChange(name, action, sensitive, "" if action == "delete" else value))
        return cls(changes, drift, outputs)

    @property
    def destructive(self) -> list[ResourceChange]:
        return [c for c in self.resource_changes if c.destructive]

    @property
    def counts(self) -> dict[str, int]:
        actions = [c.action for c in self.resource_changes]
        return {
            "add": actions.count("create") + actions.count("replace"),
            "change": actions.count("update"),
            "destroy": actions.count("delete") + actions.count("replace"),
            "replace": actions.count("replace"),
            "delete": actions.count("delete"),
            "import": actions.count("import"),
            "drift": len(self.drift),
            "outputs_changed": len(self.output_changes),
        }

    @property
    def has_changes(self) -> bool:
        return bool(self.resource_changes or self.output_changes)

    def per_component(self) -> dict[str, dict[str, int]]:
        """Resource changes per component and action, every component present (zero when untouched)."""
        table: dict[str, dict[str, int]] = {name: {} for name in COMPONENTS}
        for change in self.resource_changes:
            row = table.setdefault(change.component, {})
            row[change.action] = row.get(change.action, 0) + 1
        return table

    def component_tables(self) -> list[Table]:
        """Every resource change grouped by component: a summary table, then one collapsible table each."""
        if not self.resource_changes:
            return []
        table = self.per_component()
        actions = [a for a in ACTION_ORDER if any(row.get(a) for row in table.values())]
        names = [name for name in (*COMPONENTS, SHARED, *sorted(table)) if table.get(name)]
        names = list(dict.fromkeys(names))
        summary = [[name, *(table[name].get(a, 0) for a in actions), sum(table[name].values())] for name in names]
        tables = [Table(["component", *actions, "total"], summary, "Changes per component")]
        for name in names:
            rows = [[c.address, c.action] for c in self.resource_changes if c.component == name]
            counts = ", ".join(f"{n} {a}" for a, n in table[name].items())
            tables.append(Table(["resource", "action"], rows, f"{name}: {len(rows)} ({counts})", collapsed=True))
        return tables

    def protected_addresses(self, bucket: str, lock_table: str) -> list[str]:
        """Destructive changes to the state bucket or the lock table (e.g. after someone imported them)."""
        protected = {("aws_s3_bucket", bucket), ("aws_dynamodb_table", lock_table)}
        return [c.address for c in self.destructive if (c.resource_type, c.backend_name) in protected]

    def summary_text(self) -> str:
        if not self.has_changes:
            return "No changes. The infrastructure matches the configuration."
        counts = self.counts
        text = f"{counts['add']} to add, {counts['change']} to change, {counts['destroy']} to destroy"
        if self.destructive:
            text += f" ({counts['replace']} replaced, {counts['delete']} deleted)"
        return text + f"; {counts['outputs_changed']} output(s) changing"

    def report(self, title: str) -> Report:
        with measure("review"):
            return self._report(title)

    def _report(self, title: str) -> Report:
        tables = []
        if self.destructive:
            rows = [[c.address, c.action, ", ".join(c.replace_paths), c.reason] for c in self.destructive]
            tables.append(
                Table(["resource", "action", "forced by", "reason"], rows, f"Destructive: {len(rows)} (review first)")
            )
        tables += self.component_tables()
        if self.drift:
            rows = [
                [c.address, "changed outside Terraform" if c.action == "update" else "deleted outside Terraform"]
                for c in self.drift
            ]
            tables.append(Table(["resource", "drift"], rows, "Changed outside Terraform (drift)"))
        if self.output_changes:
            rows = [[o.name, o.action, o.value] for o in self.output_changes]
            tables.append(Table(["output", "action", "new value"], rows, "Outputs"))
        status = "ok" if not self.has_changes else ("warn" if self.destructive else "changed")
        facts: dict[str, Any] = dict(self.counts)
        facts["components"] = {name: sum(actions.values()) for name, actions in self.per_component().items() if actions}
        report = Report(title, status, self.summary_text(), facts=facts, tables=tables)
        if self.resource_changes:
            report.figures.append(component_chart(self))
        if self.drift:
            report.notes.append(
                f"{len(self.drift)} resource(s) changed outside Terraform; applying this plan puts them back "
                "as the configuration says"
            )
        return report


def component_chart(review: PlanReview) -> str:
    """A horizontal stacked bar per component (creates, updates, replacements, deletions) as an inline SVG image."""
    table = review.per_component()
    names = [name for name in (*COMPONENTS, SHARED) if name in table]
    actions = ("delete", "replace", "update", "create")
    alt = "; ".join(
        f"{name}: " + ", ".join(f"{n} {a}" for a, n in sorted(table[name].items())) for name in names if table[name]
    )
    return charts.stacked_bars(
        names,
        {action: [table[name].get(action, 0) for name in names] for action in actions},
        ACTION_COLOURS,
        xlabel="resources",
        title="Changes per component",
        alt=alt,
    )
