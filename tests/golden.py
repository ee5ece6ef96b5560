"""Golden files of the Markdown plan report: the report of a real plan, with its volatile bits normalised.

Regenerate after an intended change of the report or of a stack: `AIPX_UPDATE_GOLDEN=1 .venv/bin/python -m pytest
tests/unit/test_report_markdown.py tests/integration/test_plan_report.py tests/integration/test_drift_and_review.py`,
then read the diff of tests/data/golden/ before committing it.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent / "data" / "golden"
UPDATE = os.environ.get("AIPX_UPDATE_GOLDEN") == "1"
# What changes from one plan of the same change to the next: when it was made, and hashes of the files.
VOLATILE = (
    (re.compile(r"planned \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"), "planned 2026-01-01T00:00:00Z"),
    (re.compile(r"(stack digest|changes digest) `[0-9a-f]{12}`"), r"\1 `000000000000`"),
    (re.compile(r"\(`\d{8}T\d{6}Z(-\d+)?`\)"), "(`20260101T000000Z`)"),
)


def normalise(text: str) -> str:
    for pattern, replacement in VOLATILE:
        text = pattern.sub(replacement, text)
    return text


def assert_matches_golden(text: str, name: str) -> None:
    path = GOLDEN / name
    text = normalise(text)
    if UPDATE or not path.exists():
        path.write_text(text)
        if not UPDATE:
            raise AssertionError(f"{path} did not exist and was written: read it, then commit it")
        return
    expected = path.read_text()
    if text != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True), str(path), "rendered"))
        raise AssertionError(f"the report differs from {path}; if intended, regenerate (see tests/golden.py):\n{diff}")
