"""The Markdown plan report from plan records: the AIPX golden file, GitHub's comment size limit, escaping.

tests/data/golden/aipx-dev.record.json is the record stage 03 wrote for a real plan of the AIPX stack (dev, into an
empty emulated account; tests/integration/test_plan_report.py checks it against a live plan while the stack is
unchanged)."""

from __future__ import annotations

import dataclasses

from aipx_runbook import report_markdown
from aipx_runbook.plan_record import ChangeRecord, DriftRecord, OutputRecord, PlanRecord
from aipx_runbook.report_markdown import COMMENT_LIMIT, MARKER, Section, render
from golden import GOLDEN, assert_matches_golden

ACTIONS_ENV = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "example/aipx", "GITHUB_RUN_ID": "42"}


def _aipx() -> PlanRecord:
    return PlanRecord.read(GOLDEN / "aipx-dev.record.json")


def _with_environment(record: PlanRecord, environment: str) -> PlanRecord:
    return dataclasses.replace(record, environment=environment)


def test_the_aipx_plan_comment_matches_its_golden_file() -> None:
    record = _aipx()
    assert len(record.resource_changes) == 157
    text = render([Section("dev", record)], comment=True, env=ACTIONS_ENV)
    assert_matches_golden(text, "aipx-dev.md")


def test_a_157_resource_plan_fits_one_comment_for_all_three_environments_unfolded() -> None:
    record = _aipx()
    sections = [Section(env, _with_environment(record, env)) for env in ("dev", "staging", "production")]
    text = render(sections, comment=True, env=ACTIONS_ENV)
    assert len(text) <= COMMENT_LIMIT
    assert text.startswith(MARKER) and text.count(MARKER) == 1
    assert text.count("### :yellow_circle:") == 3
    assert "more: see the job summary" not in text and "Cut here" not in text
    for change in record.resource_changes:
        assert text.count(f"| `{change.address}` |") == 3


def _huge(count: int, destroy_share: int = 4) -> PlanRecord:
    changes = [
        ChangeRecord(
            f'module.fleet.aws_instance.worker["node-{i:05d}"]',
            "aws_instance",
            "replace" if i % destroy_share == 0 else "update",
            "compute",
            ["ami"] if i % destroy_share == 0 else [],
        )
        for i in range(count)
    ]
    drift = [DriftRecord(f"aws_s3_bucket.b{i}", "aws_s3_bucket", "update", ["tags.Owner"]) for i in range(count // 10)]
    replaced = sum(1 for c in changes if c.action == "replace")
    counts = {"add": replaced, "change": count - replaced, "destroy": replaced, "replace": replaced, "delete": 0}
    counts |= {"import": 0, "drift": len(drift), "outputs_changed": 1}
    return dataclasses.replace(
        _aipx(), counts=counts, resource_changes=changes, drift=drift, outputs=[OutputRecord("x", "update", True, "")]
    )


def test_a_longer_plan_is_folded_to_fit_with_a_note_saying_how_many_rows_are_left_out() -> None:
    sections = [Section(env, _with_environment(_huge(2000), env)) for env in ("dev", "staging", "production")]
    text = render(sections, comment=True, env=ACTIONS_ENV)
    assert len(text) <= COMMENT_LIMIT
    assert text.count("<details") == text.count("</details>") == 3
    assert "_… and " in text and "more: see the job summary or the run artifact._" in text
    # Destructive changes keep their rows before any other list loses one.
    assert text.count("| **replace** | `ami` |") >= 3 * 50
    full = render(sections, env=ACTIONS_ENV)
    assert len(full) > COMMENT_LIMIT and "_… and " not in full, "the job summary keeps every row"


def test_past_every_fold_the_comment_is_cut_with_a_note() -> None:
    sections = [Section(f"env{i}", _with_environment(_huge(400, destroy_share=1), f"env{i}")) for i in range(40)]
    text = render(sections, comment=True, env=ACTIONS_ENV)
    assert len(text) <= COMMENT_LIMIT
    assert text.rstrip().endswith("The job summary and the run artifact hold every change.")
    assert text.count("<details") == text.count("</details>")


def test_table_cells_cannot_break_the_table() -> None:
    record = dataclasses.replace(
        _aipx(),
        resource_changes=[ChangeRecord("aws_x.a", "aws_x", "update", "shared")],
        outputs=[OutputRecord("weird", "update", False, "a|b`c\nd")],
    )
    text = render([Section("dev", record)])
    assert "| `weird` | update | `a\\|b'c d` |" in text


def test_outside_github_actions_there_is_no_run_link() -> None:
    assert report_markdown.run_link({}, "dev") is None
    assert ":package:" not in render([Section("dev", _aipx())], env={})
