"""environments/<env>/cost-assumptions.toml: the usage neither tfvars nor a plan knows, checked key by key."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import filecache
from ..errors import RunbookError

ASSUMPTIONS_FILE = "cost-assumptions.toml"


@dataclass(frozen=True)
class Assumptions:
    """environments/<env>/cost-assumptions.toml: the usage neither tfvars nor a plan knows."""

    path: Path
    hours_per_month: float
    nat_processed_gb: float
    application_load_balancers: int
    network_load_balancers: int
    capacity_units_per_load_balancer: float
    interface_endpoints: int
    endpoint_processed_gb: float
    data_lake_gb: float
    logs_ingested_gb: float
    function_count: int
    invocations_per_function: float
    average_duration_ms: float
    function_architecture: str
    api_kind: str
    api_requests: float

    @property
    def days_per_month(self) -> float:
        return self.hours_per_month / 24


# (section, key in the file) → field of Assumptions
ASSUMPTION_KEYS = {
    ("", "hours_per_month"): "hours_per_month",
    ("network", "nat_processed_gb"): "nat_processed_gb",
    ("network", "application_load_balancers"): "application_load_balancers",
    ("network", "network_load_balancers"): "network_load_balancers",
    ("network", "capacity_units_per_load_balancer"): "capacity_units_per_load_balancer",
    ("network", "interface_endpoints"): "interface_endpoints",
    ("network", "endpoint_processed_gb"): "endpoint_processed_gb",
    ("storage", "data_lake_gb"): "data_lake_gb",
    ("logs", "ingested_gb"): "logs_ingested_gb",
    ("functions", "count"): "function_count",
    ("functions", "invocations_per_function"): "invocations_per_function",
    ("functions", "average_duration_ms"): "average_duration_ms",
    ("functions", "architecture"): "function_architecture",
    ("api", "kind"): "api_kind",
    ("api", "requests"): "api_requests",
}
CHOICES = {"api_kind": ("http", "rest"), "function_architecture": ("arm64", "x86_64")}


@filecache.by_content
def load_assumptions(path: Path) -> Assumptions:
    if not path.is_file():
        raise RunbookError(
            "read the cost assumptions",
            f"{path} does not exist",
            f"copy environments/dev/{ASSUMPTIONS_FILE} to {path} and adjust the usage numbers",
        )
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise RunbookError("read the cost assumptions", f"{path} is not valid TOML: {error}", f"fix {path}") from error
    values, problems = _values(raw)
    problems += _unknown_keys(raw)
    if problems:
        raise RunbookError(
            "read the cost assumptions",
            f"{path} has {len(problems)} problem(s)",
            f"fix {path} (environments/dev/{ASSUMPTIONS_FILE} shows every key)",
            details="\n".join(problems),
        )
    return Assumptions(path=path, **values)


def _values(raw: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Each known key's value, and what is wrong with the missing or ill-typed ones."""
    values: dict[str, Any] = {}
    problems = []
    for (section, key), name in ASSUMPTION_KEYS.items():
        table = raw.get(section, {}) if section else raw
        label = f"[{section}] {key}" if section else key
        if key not in table:
            problems.append(f"{label} is missing")
        elif name in CHOICES:
            if table[key] not in CHOICES[name]:
                problems.append(f"{label} must be one of {', '.join(CHOICES[name])}, not {table[key]!r}")
            values[name] = table[key]
        elif isinstance(table[key], bool) or not isinstance(table[key], int | float) or table[key] < 0:
            problems.append(f"{label} must be a number ≥ 0, not {table[key]!r}")
        else:
            values[name] = table[key]
    return values, problems


def _unknown_keys(raw: dict[str, Any]) -> list[str]:
    sections = {section for section, _ in ASSUMPTION_KEYS if section}
    problems = []
    for name, value in raw.items():
        if name in sections:
            expected = {key for section, key in ASSUMPTION_KEYS if section == name}
            problems += [
                f"[{name}] {key} is not an assumption this estimate knows" for key in value if key not in expected
            ]
        elif ("", name) not in ASSUMPTION_KEYS:
            problems.append(f"{name} is not an assumption this estimate knows")
    return problems
