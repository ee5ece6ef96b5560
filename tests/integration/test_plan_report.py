"""`aipx-runbook report --format markdown` on real plans: the smoke stack and the AIPX stack, against the moto
server with the real Terraform. Stage 03 records what the report needs (tfplan.record.json); the report command,
run as a user runs it, renders it without Terraform. The AIPX plan needs the provider mirror (the test skips,
saying why, without one)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from aipx_runbook import plan_record, report_markdown, stages
from aipx_runbook.plan_record import PlanRecord
from golden import GOLDEN, UPDATE, assert_matches_golden, normalise

# The AIPX report uses the plans of test_aipx_plan.py: one group, one worker, the plans made once for both.
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("aipx_plan")]
ACTIONS_ENV = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "example/aipx", "GITHUB_RUN_ID": "42"}


def report(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The console script, as the workflow calls it."""
    binary = shutil.which("aipx-runbook")
    assert binary, "aipx-runbook is not on PATH: run the tests from the project's .venv"
    return subprocess.run(
        [binary, "report", *args], capture_output=True, text=True, env={**os.environ, **(env or {})}, check=False
    )


def test_smoke_plan_report_matches_its_golden_file(stage_context, reset_emulator, tmp_path) -> None:
    for name, stage in (("backend", stages.backend_setup), ("init", stages.init), ("plan", stages.plan)):
        stage(stage_context(name, "staging", run_dir=tmp_path / "run"))
    record = PlanRecord.read(plan_record.record_path(tmp_path / "run"))
    assert [o.name for o in record.outputs if o.sensitive] == ["database_endpoint"]
    assert "smoke.invalid" not in record.to_json(), "a sensitive output's value reached the record"

    summary = report("--format", "markdown", "--run-dir", str(tmp_path / "run"), env=ACTIONS_ENV)
    assert summary.returncode == 0, summary.stderr
    assert "smoke.invalid" not in summary.stdout
    link = "[run 42](https://github.com/example/aipx/actions/runs/42) (artifact `runbook-plan-staging`)"
    assert link in summary.stdout
    assert_matches_golden(summary.stdout, "smoke-staging.md")

    comment = report("--comment", "--run-dir", str(tmp_path / "run"), env=ACTIONS_ENV)
    assert comment.stdout.startswith(report_markdown.MARKER + "\n## AIPX Terraform plan\n")
    assert comment.stdout.endswith(summary.stdout)


def test_a_failed_plan_reports_what_failed_and_what_to_do(moto_server, reset_emulator, tmp_path) -> None:
    """The workflow renders the report even when the plan job failed: the section then says why."""
    run_dir = tmp_path / "runs" / "dev" / "20260101T000000Z"
    run_dir.mkdir(parents=True)
    (run_dir / "summary.json").write_text(
        json.dumps(
            {
                "environment": "dev",
                "stages": [
                    {"number": "00", "name": "prerequisites", "status": "passed"},
                    {
                        "number": "02",
                        "name": "init",
                        "status": "failed",
                        "error": "TerraformError: no backend",
                        "hint": "run stage 01",
                    },
                ],
            }
        )
    )
    result = report("--run-dir", str(tmp_path / "runs" / "dev"))
    assert result.returncode == 0
    assert result.stdout.startswith("### :x: `dev`: no plan\n")
    assert "**FAILED** at stage 02 (init): TerraformError: no backend" in result.stdout
    assert "What to do: run stage 01" in result.stdout
    missing = report("--run-dir", str(tmp_path / "nothing-here"))
    assert missing.returncode == 1
    assert missing.stderr.startswith("FAILED  find the run directory\nwhy:")


def test_aipx_plan_report_fits_a_comment_and_matches_the_recorded_plan(aipx_plans) -> None:
    """A real plan of the AIPX stack (dev, 157 resources into an empty account) through stage 03 (the plan
    aipx_plans made, which test_aipx_plan.py checks) and the report.
    tests/data/golden/aipx-dev.record.json is such a record, kept so that the golden report does not depend on
    the stack staying as it is; while the stack and dev's aws.tfvars are unchanged (same stack digest) the live
    report must equal the golden one, and whatever the stack, the live report must hold every change and fit.
    """
    run_dir = aipx_plans["dev"].run_dir
    record = PlanRecord.read(plan_record.record_path(run_dir))
    assert record.counts["add"] == len(record.resource_changes) > 100
    assert record.cost is not None and record.cost.after_usd > record.cost.before_usd == 0

    comment = report("--comment", "--run-dir", str(run_dir), env=ACTIONS_ENV)
    assert comment.returncode == 0, comment.stderr
    assert len(comment.stdout) <= report_markdown.COMMENT_LIMIT
    assert "Cut here" not in comment.stdout and "more: see the job summary" not in comment.stdout
    headline = f"`dev`: {record.counts['add']} to add, 0 to change, 0 to destroy, 0 to replace"
    assert headline in comment.stdout
    for change in record.resource_changes:
        assert f"| `{change.address}` | create | {change.component} |" in comment.stdout
    for output in record.outputs:
        assert f"| `{output.name}` | create |" in comment.stdout
    assert f"prices dated {record.cost.price_table_date}" in comment.stdout

    # The golden record (tests/unit/test_report_markdown.py renders it) is this plan, recorded.
    recorded_path = GOLDEN / "aipx-dev.record.json"
    if UPDATE:
        recorded_path.write_text(record.to_json())
    recorded = PlanRecord.read(recorded_path)
    if record.stack_digest == recorded.stack_digest:
        rendered = report_markdown.render([report_markdown.Section("dev", recorded)], comment=True, env=ACTIONS_ENV)
        assert normalise(comment.stdout) == normalise(rendered), "same stack, same plan, same report"
