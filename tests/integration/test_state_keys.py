"""Each stack has its own state key: planning one stack never plans to destroy another stack's resources."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from aipx_runbook import config, stages
from aipx_runbook.context import open_stage
from aipx_runbook.terraform import TerraformRunner
from paths import PROJECT_ROOT, TEST_DATA

pytestmark = pytest.mark.integration
STACK = TEST_DATA / "stacks" / "script"


def test_planning_the_smoke_stack_leaves_another_stacks_resources_alone(
    stage_context, reset_emulator, tmp_path, capsys
):
    def _stage(name: str, stack: str, run_dir: Path):
        return stage_context(name, stack=stack, run_dir=run_dir)

    def _apply(stack: str, run_dir: Path) -> None:
        stages.init(_stage("init", stack, run_dir))
        stages.plan(_stage("plan", stack, run_dir))
        stages.apply(_stage("apply", stack, run_dir), auto_approve=True)

    other = str(shutil.copytree(STACK, tmp_path / "other-stack"))
    stages.backend_setup(_stage("backend", "smoke", tmp_path / "backend"))
    _apply(other, tmp_path / "other")
    assert TerraformRunner(_stage("state", other, tmp_path / "other")).state_list() == ["terraform_data.deploy"]

    init = stages.init(_stage("init", "smoke", tmp_path / "smoke"))
    assert any('"dynamodb_table" is deprecated' in note for note in init.notes), "explained once, at init"
    capsys.readouterr()
    report = stages.plan(_stage("plan", "smoke", tmp_path / "smoke"))
    assert report.facts["destroy"] == 0 and report.facts["delete"] == 0, report.summary
    stages.apply(_stage("apply", "smoke", tmp_path / "smoke"), auto_approve=True)
    streamed = capsys.readouterr().out
    assert "Apply complete!" in streamed and "dynamodb_table" not in streamed, "not repeated by every command"

    # The other stack's own plan still finds its resource: its state was never touched by the smoke stack.
    again = stages.plan(_stage("plan", other, tmp_path / "other"))
    assert again.summary.startswith("No changes"), again.summary
    ctx = _stage("verify", "smoke", tmp_path / "smoke")
    keys = sorted(o["Key"] for o in ctx.target.client("s3").list_objects_v2(Bucket="aipx-terraform-state")["Contents"])
    other_key = _stage("verify", other, tmp_path / "other").settings.state_key
    assert keys == sorted(["smoke/dev/terraform.tfstate", other_key]), keys
    assert other_key.startswith("stacks/other-stack-") and other_key.endswith("/dev/terraform.tfstate")


def test_the_aipx_stack_keeps_its_key_by_name_and_by_path(workspace, tmp_path) -> None:
    assert config.state_prefix(PROJECT_ROOT / "terraform" / "aws") == "aws"
    assert config.state_prefix(PROJECT_ROOT / "terraform" / "smoke") == "smoke"
    assert config.state_prefix(STACK) == "stacks/tests/data/stacks/script"
    for stack, key in (("aipx", "aws/dev/"), ("terraform/aws", "aws/dev/"), ("smoke", "smoke/dev/")):
        ctx = open_stage("plan", "dev", target="aws", stack=stack, run_dir=str(tmp_path))
        assert ctx.settings.state_key == key + "terraform.tfstate"
        # A context derived from this one (the backend-only module that releases a lock) keeps its key.
        derived = dataclasses.replace(ctx, stack="backend-only", stack_dir=tmp_path)
        assert derived.settings.state_key == ctx.settings.state_key
