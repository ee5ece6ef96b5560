"""A saved plan is bound to every file of its stack: an edit after planning, to any file, makes apply refuse."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from aipx_runbook import stages
from aipx_runbook.errors import RunbookError
from aipx_runbook.stack_files import stack_digest
from aipx_runbook.terraform import TerraformRunner
from paths import TEST_DATA

pytestmark = pytest.mark.integration
STACK = TEST_DATA / "stacks" / "script"


@pytest.fixture
def script_stack(tmp_path) -> Path:
    """A copy of the test stack, so the test can edit it."""
    return Path(shutil.copytree(STACK, tmp_path / "script-stack"))


def test_a_script_edited_after_planning_makes_apply_refuse(stage_context, reset_emulator, script_stack, tmp_path):
    def at(name: str):
        return stage_context(name, stack=script_stack, run_dir=tmp_path / "run")

    stages.backend_setup(at("backend"))
    stages.init(at("init"))
    stages.plan(at("plan"))

    (script_stack / "scripts" / "deploy.sh").write_text('#!/bin/sh\necho "not what was reviewed"\n')
    with pytest.raises(RunbookError, match=r"the stack's files \(script-stack/\) changed since the plan"):
        stages.apply(at("apply"), auto_approve=True)
    assert TerraformRunner(at("verify")).outputs() == {}, "nothing was applied"


def test_the_digest_covers_every_file_by_path_and_content_but_not_dot_terraform(tmp_path) -> None:
    stack = Path(shutil.copytree(STACK, tmp_path / "stack"))
    first = stack_digest(stack, None)
    (stack / ".terraform").mkdir()
    (stack / ".terraform" / "terraform.tfstate").write_text("{}")
    assert stack_digest(stack, None) == first, "the .terraform directory is Terraform's own working data"
    (stack / "scripts" / "deploy.sh").rename(stack / "scripts" / "deploy-renamed.sh")
    renamed = stack_digest(stack, None)
    assert renamed != first, "a moved file changes what path.module/... reads"
    (stack / "notes.txt").write_text("any file")
    assert stack_digest(stack, None) != renamed
    var_file = tmp_path / "aws.tfvars"
    var_file.write_text('environment = "dev"\n')
    with_vars = stack_digest(stack, var_file)
    var_file.write_text('environment = "staging"\n')
    assert stack_digest(stack, var_file) != with_vars
