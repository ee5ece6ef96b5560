"""Drift detection and apply-what-was-reviewed, with the real Terraform and the AWS provider against the moto server.

The stack is tests/data/stacks/tagged_bucket (an S3 bucket with tags and versioning; `kafka_broker_count` comes
from environments/dev/aws.tfvars), copied with environments/ into a temporary project. It is applied, then
changed out of band with boto3, and its tfvars are edited, as the workflow's jobs would meet these situations.
The commands run as the workflow runs them: the `aipx-runbook` console script in a subprocess.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import moto_api
from aipx_runbook import plan_record, stages
from aipx_runbook.aws import AwsTarget
from aipx_runbook.context import StageContext
from aipx_runbook.plan_record import PlanRecord
from golden import assert_matches_golden
from paths import PROJECT_ROOT
from terraform_mirror import ProviderInstallation

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("drift_and_review")]
STACK = PROJECT_ROOT / "tests" / "data" / "stacks" / "tagged_bucket"
BUCKET = "aipx-dev-reports"
ACTIONS_ENV = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "example/aipx", "GITHUB_RUN_ID": "7"}


@dataclass
class Project:
    root: Path
    stack: Path
    runs: Path
    endpoint: str
    opened: Callable[..., StageContext]  # the stage_context fixture

    def cli(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        binary = shutil.which("aipx-runbook")
        assert binary, "aipx-runbook is not on PATH: run the tests from the project's .venv"
        return subprocess.run(
            [binary, *args], capture_output=True, text=True, env={**os.environ, **(env or {})}, check=False
        )

    def stage(self, name: str, run: str):
        return self.opened(name, stack=self.stack, run_dir=self.runs / run)

    def plan(self, run: str) -> PlanRecord:
        for name, stage in (("backend", stages.backend_setup), ("init", stages.init), ("plan", stages.plan)):
            stage(self.stage(name, run))
        return PlanRecord.read(plan_record.record_path(self.runs / run))

    def s3(self):
        return AwsTarget("local", "ap-northeast-2", self.endpoint).client("s3")

    def tags(self) -> dict[str, str]:
        return {t["Key"]: t["Value"] for t in self.s3().get_bucket_tagging(Bucket=BUCKET)["TagSet"]}

    def retag(self, **changes: str) -> None:
        """Change the bucket's tags out of band, as someone in the console would."""
        tags = self.tags() | changes
        self.s3().put_bucket_tagging(
            Bucket=BUCKET, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]}
        )

    def set_tfvar(self, name: str, value: str) -> None:
        path = self.root / "environments" / "dev" / "aws.tfvars"
        lines = [line for line in path.read_text().splitlines() if not line.startswith(f"{name} ")]
        path.write_text("\n".join([*lines, f"{name} = {value}"]) + "\n")


@pytest.fixture(scope="module")
def project(
    aipx_providers: ProviderInstallation,
    moto_server: str,
    stage_context: Callable[..., StageContext],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Project]:
    """The tagged bucket applied to dev in an empty emulated account."""
    moto_api.empty(moto_server)
    root = tmp_path_factory.mktemp("drift-project")
    shutil.copytree(PROJECT_ROOT / "environments", root / "environments")
    shutil.copytree(PROJECT_ROOT / "notebooks", root / "notebooks")
    shutil.copytree(STACK, root / "stacks" / "tagged_bucket")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIPX_PROJECT_ROOT", str(root))
        for name, value in aipx_providers.environment.items():
            patch.setenv(name, value)
        project = Project(root, root / "stacks" / "tagged_bucket", root / "runs", moto_server, stage_context)
        project.plan("first")
        stages.apply(project.stage("apply", "first"), auto_approve=True)
        assert project.tags()["Owner"] == "platform"
        yield project


def test_drift_exits_0_when_the_environment_matches_its_code_then_3_naming_what_changed_outside(project) -> None:
    agree = project.cli("drift", "--env", "dev", "--stack", str(project.stack))
    assert agree.returncode == 0, agree.stdout + agree.stderr
    assert "no drift: the code and dev (tagged_bucket on local) agree" in agree.stdout
    assert [line[:9] for line in agree.stdout.splitlines()[:4]] == ["PASS  00 ", "PASS  01 ", "PASS  02 ", "PASS  03 "]

    project.retag(Owner="someone-else")

    drifted = project.cli("drift", "--env", "dev", "--stack", str(project.stack))
    assert drifted.returncode == 3, drifted.stdout + drifted.stderr
    assert "DRIFT  dev (tagged_bucket on local): the environment and its code disagree" in drifted.stdout
    assert "  aws_s3_bucket.reports  changed: tags.Owner, tags_all.Owner (the plan puts it back)" in drifted.stdout
    assert "  aws_s3_bucket.reports  update" in drifted.stdout, "the plan would put the tag back"
    recorded_at = drifted.stdout.split("recorded: ", 1)[1].strip()
    record = json.loads(Path(recorded_at).read_text())
    assert record["agree"] is False
    assert [(d["address"], d["action"]) for d in record["drifted"]] == [("aws_s3_bucket.reports", "update")]
    assert project.tags()["Owner"] == "someone-else", "drift detection never applies"

    summary = project.cli("report", "--run-dir", str(Path(recorded_at).parent), env=ACTIONS_ENV)
    assert "#### :mag: Changed outside Terraform, found during refresh (1)" in summary.stdout
    row = (
        "| `aws_s3_bucket.reports` | changed outside Terraform: `tags.Owner`, `tags_all.Owner`; this plan puts it back"
    )
    assert row in summary.stdout


def test_drift_on_bad_usage_exits_2_and_on_a_failed_stage_exits_1(project, tmp_path) -> None:
    usage = project.cli("drift", "--env", "prod")
    assert usage.returncode == 2 and "unknown environment 'prod'" in usage.stderr
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "main.tf").write_text('terraform {\n  backend "s3" {}\n}\noutput "x" {\n  value = var.undeclared\n}\n')
    failed = project.cli("drift", "--env", "dev", "--stack", str(broken))
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "stage 03 plan failed:" in failed.stderr and "what to do:" in failed.stderr
    assert "Traceback" not in failed.stderr


def test_apply_applies_the_reviewed_plan_and_refuses_one_changed_since_the_review(project, tmp_path) -> None:
    # The pull request's change: put back a tag changed by hand. Its plan is reviewed, its record kept (the
    # workflow's artifact).
    project.retag(Owner="changed-by-hand")
    reviewed = project.plan("pull-request")
    assert reviewed.has_changes
    kept = tmp_path / "reviewed.record.json"
    shutil.copy(plan_record.record_path(project.runs / "pull-request"), kept)

    # The same change planned again at apply time matches, and is applied.
    again = project.plan("apply-1")
    assert again.changes_digest == reviewed.changes_digest, "the same change re-planned has the same digest"
    report = stages.apply(project.stage("apply", "apply-1"), auto_approve=True, expected_plan=str(kept))
    assert report.facts["applied"] is True and report.facts["reviewed_plan"] == reviewed.changes_digest
    assert project.tags()["Owner"] == "platform"

    # Someone changes aws.tfvars between the review and the apply: the apply job refuses, applying nothing.
    project.set_tfvar("kafka_broker_count", "3")
    refused = project.cli(
        "run",
        "--env",
        "dev",
        "--stack",
        str(project.stack),
        "--stages",
        "02,03,04",
        "-p",
        "auto_approve=True",
        "-p",
        f"expected_plan={kept}",
    )
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "PASS  03 plan" in refused.stdout and "FAIL  04 apply" in refused.stdout
    assert "stage 04 apply failed: RunbookError: the plan about to be applied is not the one reviewed" in refused.stderr
    assert "stack digest: reviewed" in refused.stderr and "aws.tfvars changed since the review" in refused.stderr
    assert "what to do: nothing was applied." in refused.stderr
    assert project.tags()["Brokers"] == "2", "nothing was applied"


def test_a_replacement_and_drift_are_shown_first_in_the_report(project) -> None:
    """A real plan with a destructive change (the bucket's name forces a replacement) and drift, as the golden
    file the README shows."""
    project.retag(CostCentre="added-by-hand")
    project.set_tfvar("kafka_broker_count", "3")
    project.set_tfvar("bucket_suffix", '"archive"')
    record = project.plan("replace")
    [replaced] = [c for c in record.resource_changes if c.action == "replace"]
    assert (replaced.address, replaced.replace_paths) == ("aws_s3_bucket.reports", ["bucket"])
    summary = project.cli("report", "--run-dir", str(project.runs / "replace"), env=ACTIONS_ENV)
    assert summary.returncode == 0, summary.stderr
    text = summary.stdout
    assert text.index("Destroyed or replaced") < text.index("Changed outside Terraform") < text.index("Monthly cost")
    assert "| `aws_s3_bucket.reports` | **replace** | `bucket` |" in text
    assert project.endpoint not in text
    assert_matches_golden(text, "tagged-bucket-replace.md")
