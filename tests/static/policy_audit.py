"""Audit IAM policy files with cloudsplaining and parliament; print the findings as JSON on stdout.

Runs with the Python of `.venv-policy` (tests/static/requirements-policy.txt), kept apart from the project's
virtualenv because the two tools pin their own dependencies. Usage: `python policy_audit.py FILE...`.

Each finding is {"tool", "file", "finding", "statement", "detail"}: `statement` is the Sid the finding points
at, so that tests/static/test_iam_policy.py can compare the findings with the justified ones listed in
terraform/aws/README.md.

cloudsplaining runs twice per file: as its CLI does by default (statements with a condition or a resource ARN
are not flagged) and with conditional statements flagged too, so a condition alone cannot hide an unrestricted
escalation or exposure.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from cloudsplaining.command.scan_policy_file import scan_policy
from cloudsplaining.shared.constants import DEFAULT_EXCLUSIONS_CONFIG
from parliament import analyze_policy_string

CLOUDSPLAINING_RISKS = (
    "PrivilegeEscalation",
    "ResourceExposure",
    "DataExfiltration",
    "CredentialsExposure",
    "ServiceWildcard",
)


def _statement_lines(text: str) -> list[tuple[int, str]]:
    """(line, Sid) of every statement, in file order (lines count from 1, as parliament's do)."""
    return [
        (number, match.group(1))
        for number, line in enumerate(text.splitlines(), 1)
        if (match := re.search(r'"Sid":\s*"([^"]+)"', line))
    ]


def _sid_at(text: str, line: int | None) -> str:
    """The Sid of the statement holding a line: parliament points at the statement's `{` or at a condition."""
    if not line:
        return ""
    sid = ""
    for number, name in _statement_lines(text):
        if number <= line + 1:
            sid = name
    return sid


def _sid_for_resource(document: dict[str, Any], detail: str) -> str:
    """For findings without a line (parliament's resource-policy check names the resource instead)."""
    match = re.search(r" on (\S+) due to", detail)
    if not match:
        return ""
    for statement in document["Statement"]:
        resources = statement.get("Resource", [])
        if match.group(1) in ([resources] if isinstance(resources, str) else resources):
            return statement.get("Sid", "")
    return ""


def cloudsplaining_findings(path: Path, document: dict[str, Any]) -> list[dict[str, str]]:
    found: dict[tuple[str, str], dict[str, str]] = {}
    for flag_conditional in (False, True):
        results = scan_policy(
            document,
            DEFAULT_EXCLUSIONS_CONFIG,
            flag_conditional_statements=flag_conditional,
            flag_resource_arn_statements=False,
        )
        for risk in CLOUDSPLAINING_RISKS:
            for item in (results.get(risk) or {}).get("findings", []):
                subject = item.get("type", "") if isinstance(item, dict) else str(item)
                found[(risk, subject)] = {
                    "tool": "cloudsplaining",
                    "file": path.name,
                    "finding": risk,
                    "statement": "",
                    "detail": subject,
                }
    return list(found.values())


def parliament_findings(path: Path, text: str, document: dict[str, Any]) -> list[dict[str, str]]:
    findings = []
    for finding in analyze_policy_string(text).findings:
        detail = finding.detail if isinstance(finding.detail, str) else json.dumps(finding.detail, sort_keys=True)
        location = finding.location if isinstance(finding.location, dict) else {}
        statement = _sid_at(text, location.get("line")) or _sid_for_resource(document, detail)
        findings.append(
            {
                "tool": "parliament",
                "file": path.name,
                "finding": finding.issue,
                "statement": statement,
                "detail": detail,
            }
        )
    return findings


def audit(path: Path) -> list[dict[str, str]]:
    text = path.read_text()
    document = json.loads(text)
    return cloudsplaining_findings(path, document) + parliament_findings(path, text, document)


def main(paths: list[str]) -> int:
    findings = [finding for name in paths for finding in audit(Path(name))]
    json.dump(findings, sys.stdout, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
