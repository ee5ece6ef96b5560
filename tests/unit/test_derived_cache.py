"""Facts derived from files are kept for the next stage's process (derived_cache), and never outlive the file:
the stack's variable names by the content of the file that declares them, the Terraform version by the binary.
Each child process below makes deriving the fact again fail, so it passes only if the fact came from the store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aipx_runbook import derived_cache, parsing, stack_files
from aipx_runbook.context import open_stage
from aipx_runbook.terraform import TerraformRunner
from paths import PROJECT_ROOT

FAIL_PARSING = "from aipx_runbook import stack_files; stack_files._parse_variables = None; "
FAIL_VERSION = "from aipx_runbook import versions; versions._installed_version = None; "


def _child(code: str, workspace: Path) -> str:
    env = {"AIPX_WORKSPACE": str(workspace), "AIPX_PROJECT_ROOT": str(PROJECT_ROOT), "PATH": os.environ["PATH"]}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout


@pytest.fixture
def own_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    workspace = tmp_path / "workspace"
    monkeypatch.setenv("AIPX_WORKSPACE", str(workspace))
    return workspace


def test_variable_names_are_parsed_once_for_the_next_process_and_again_after_an_edit(
    own_workspace: Path, tmp_path: Path
) -> None:
    stack = tmp_path / "stack"
    stack.mkdir()
    (stack / "variables.tf").write_text('variable "region" {\n  type = string\n}\n')
    assert stack_files.declared_variables(stack) == {"region"}
    ask = (
        "from pathlib import Path; from aipx_runbook import stack_files; "
        f"print(sorted(stack_files.declared_variables(Path({str(stack)!r}))))"
    )
    assert _child(FAIL_PARSING + ask, own_workspace).strip() == "['region']", "from the store, not parsed again"
    (stack / "variables.tf").write_text('variable "region" {\n  type = string\n}\nvariable "zone" {}\n')
    with pytest.raises(subprocess.CalledProcessError):  # the edited file is parsed again: here, parsing fails
        _child(FAIL_PARSING + ask, own_workspace)
    assert stack_files.declared_variables(stack) == {"region", "zone"}


def test_only_variable_blocks_make_a_file_parsed_and_the_aipx_stack_declares_the_same(
    own_workspace: Path, tmp_path: Path
) -> None:
    # A policy condition's `variable = "aws:SourceAccount"` is an attribute: a file that only has that is not
    # parsed (this one would not parse at all).
    (tmp_path / "iam.tf").write_text('condition {\n  variable = "aws:SourceAccount"\n  broken = \n')
    (tmp_path / "one_line.tf").write_text('  variable "tags" {}\n')
    (tmp_path / "bare.tf").write_text("variable bare-name {\n  default = 1\n}\n")
    assert stack_files.declared_variables(tmp_path) == {"tags", "bare-name"}
    stack = PROJECT_ROOT / "terraform" / "aws"
    every_file = {
        name.strip('"')
        for path in stack.glob("*.tf")
        for block in parsing.load_hcl(path).get("variable", [])
        for name in block
    }
    assert stack_files.declared_variables(stack) == every_file and len(every_file) > 20


def test_the_terraform_version_is_asked_once_per_binary(own_workspace: Path, tmp_path: Path) -> None:
    ctx = open_stage("plan", "dev", "aws", stack="smoke", run_dir=str(tmp_path / "run"))
    runner = TerraformRunner(ctx)
    assert runner.version == (1, 11, 4) and runner.version_text == "1.11.4"
    ask = (
        "from aipx_runbook.context import open_stage; from aipx_runbook.terraform import TerraformRunner; "
        f"ctx = open_stage('plan', 'dev', 'aws', stack='smoke', run_dir={str(tmp_path / 'run')!r}); "
        "print(TerraformRunner(ctx).version)"
    )
    assert _child(FAIL_VERSION + ask, own_workspace).strip() == "(1, 11, 4)", "from the store, no new process"
    stored = json.loads((own_workspace / ".aipx" / "cache" / "terraform-version.json").read_text())
    assert stored == {derived_cache.file_key(Path(runner.binary)): [1, 11, 4]}


def test_a_corrupt_store_is_derived_again_and_a_changed_file_gets_a_new_key(
    own_workspace: Path, tmp_path: Path
) -> None:
    calls = []
    assert derived_cache.remembered("kind", "k", lambda: calls.append(1) or [1]) == [1]
    assert derived_cache.remembered("kind", "k", lambda: calls.append(1) or [2]) == [1] and len(calls) == 1
    (own_workspace / ".aipx" / "cache" / "kind.json").write_text("{not json")
    assert derived_cache.remembered("kind", "k", lambda: calls.append(1) or [3]) == [3] and len(calls) == 2
    path = tmp_path / "binary"
    path.write_text("one")
    before = derived_cache.file_key(path)
    path.write_text("three")
    assert derived_cache.file_key(path) != before
