"""Terraform's own error text, pointed at the file the operator edits.

The runbook passes the values a stack declares from ``environments/<env>/aws.tfvars`` through a private variable
file (tfprocess.py), so Terraform names that file in a variable validation error ("on .../variables.tfvars.json
line 1"). The operator edits aws.tfvars: the source lines are rewritten to name it, with the line that sets the
variable.
"""

from __future__ import annotations

import re
from pathlib import Path

PRIVATE_SOURCE = re.compile(
    r"on (?P<file>\S*variables\.tfvars\.json) line \d+:\n[ \t]*\d+: [^\n]*\n(?P<rest>(?:[ \t]*[├│][^\n]*\n)*)"
)


def point_at_tfvars(text: str, tfvars: Path, shown: str) -> str:
    def replace(match: re.Match[str]) -> str:
        name = re.search(r"var\.(\w+)", match["rest"])
        line = _assignment(tfvars, name.group(1)) if name else None
        if line is None:
            variable = f" var.{name.group(1)}" if name else ""
            return f"on {shown} (the value of{variable} the runbook sets for this environment):\n{match['rest']}"
        number, source = line
        return f"on {shown} line {number}:\n  {number}: {source}\n{match['rest']}"

    return PRIVATE_SOURCE.sub(replace, text)


def _assignment(tfvars: Path, name: str) -> tuple[int, str] | None:
    try:
        lines = tfvars.read_text().splitlines()
    except OSError:
        return None
    pattern = re.compile(rf"^\s*{re.escape(name)}\s*=")
    return next(((number, text) for number, text in enumerate(lines, 1) if pattern.match(text)), None)
