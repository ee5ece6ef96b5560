"""Plans that leave some resources out: `-target` of every other resource, computed from Terraform's own graph.

Terraform 1.11 has `-target` but no `-exclude`. To leave resources out (the local emulator cannot create MSK or
ElastiCache user groups), the plan targets every resource of the configuration except the excluded ones and
everything that depends on them, read from `terraform graph` (the resource graph Terraform plans with, with the
references through locals and modules resolved: no HCL of our own to interpret). For a destroy plan the
direction turns: a kept resource keeps what it depends on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .errors import UsageError

# A resource's configuration address: [module.NAME.]...TYPE.NAME (no instance keys: -target takes them, but
# exclusion works on whole resources, as the graph does).
ADDRESS = re.compile(r"(module\.[A-Za-z_][\w-]*\.)*[a-z][a-z0-9_]*\.[A-Za-z_][\w-]*")
# `terraform graph` writes DOT: node lines `"ADDRESS" [label=...]` and edge lines `"FROM" -> "TO"`, where FROM
# depends on TO. Only these two statement forms are read; DOT is Terraform's documented output of the command.
NODE = re.compile(r'^\s*"(?P<address>[^"]+)"\s*\[')
EDGE = re.compile(r'^\s*"(?P<source>[^"]+)"\s*->\s*"(?P<target>[^"]+)"')


def parse_exclusions(value: object) -> tuple[str, ...]:
    """The `exclude` parameter: a list of resource addresses, or the string papermill and shells pass
    (comma- or space-separated, or a JSON list). Anything else is refused, not guessed at."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        text = value.strip()
        items: object = json.loads(text) if text.startswith("[") else re.split(r"[,\s]+", text)
    else:
        items = value
    if not isinstance(items, list | tuple) or not all(isinstance(item, str) for item in items):
        raise UsageError(
            f"exclude must be a list of resource addresses, not {type(value).__name__} {value!r}",
            "pass a list such as ['aws_msk_cluster.this'] (papermill: -p exclude aws_msk_cluster.this,aws_x.y)",
        )
    addresses = tuple(dict.fromkeys(item.strip() for item in items if item.strip()))
    malformed = [address for address in addresses if not ADDRESS.fullmatch(address)]
    if malformed:
        raise UsageError(
            f"not resource addresses: {', '.join(malformed)}",
            "name whole resources as `terraform state list` shows them, without instance keys "
            "(aws_msk_cluster.this, module.vpc.aws_nat_gateway.this)",
        )
    return addresses


@dataclass(frozen=True)
class ResourceGraph:
    """Managed resources of a configuration and, for each, the resources it depends on."""

    dependencies: dict[str, frozenset[str]]

    @classmethod
    def from_dot(cls, text: str) -> ResourceGraph:
        nodes: set[str] = set()
        edges: dict[str, set[str]] = {}
        for line in text.splitlines():
            if edge := EDGE.match(line):
                edges.setdefault(edge["source"], set()).add(edge["target"])
            elif node := NODE.match(line):
                nodes.add(node["address"])
        managed = {node for node in nodes | set(edges) if _managed(node)}
        return cls({node: frozenset(t for t in edges.get(node, ()) if t in managed) for node in sorted(managed)})

    def dependents(self, address: str) -> set[str]:
        return {node for node, needs in self.dependencies.items() if address in needs}

    def closure(self, start: Iterable[str], step: str) -> set[str]:
        """``start`` and everything reachable from it: through dependents (``step="dependents"``) or
        dependencies (``step="dependencies"``)."""
        found, pending = set(), list(start)
        while pending:
            address = pending.pop()
            if address in found:
                continue
            found.add(address)
            pending += self.dependents(address) if step == "dependents" else self.dependencies.get(address, ())
        return found


def _managed(node: str) -> bool:
    """A managed resource: TYPE.NAME, optionally inside modules (data sources are DATA.TYPE.NAME)."""
    return ADDRESS.fullmatch(node) is not None and not re.sub(r"^(module\.[^.]+\.)*", "", node).startswith("data.")


@dataclass(frozen=True)
class Selection:
    """What a plan with exclusions covers: the targets passed to Terraform and what was left out, and why."""

    excluded: tuple[str, ...]
    left_out: tuple[str, ...]
    targets: tuple[str, ...]

    @property
    def dependents(self) -> tuple[str, ...]:
        """Left out only because they depend on (or, for a destroy, are needed by) an excluded resource."""
        return tuple(address for address in self.left_out if address not in self.excluded)


def select(graph: ResourceGraph, excluded: Sequence[str], destroy: bool = False) -> Selection:
    unknown = [address for address in excluded if address not in graph.dependencies]
    if unknown:
        raise UsageError(
            f"not resources of this stack: {', '.join(unknown)}",
            "use addresses from the stack's configuration, e.g. " + ", ".join(sorted(graph.dependencies)[:5]),
        )
    left_out = graph.closure(excluded, "dependencies" if destroy else "dependents")
    targets = tuple(address for address in graph.dependencies if address not in left_out)
    return Selection(tuple(excluded), tuple(sorted(left_out)), targets)
