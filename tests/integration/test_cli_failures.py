"""Every CLI command turns a user's mistake into FAILED / why / fix, exit 1, never a traceback (the real CLI)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from paths import PROJECT_ROOT

pytestmark = pytest.mark.integration
CLI = [sys.executable, "-m", "aipx_runbook.cli"]


def _run(tmp_path: Path, *args: str, root: Path = PROJECT_ROOT, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env.update(AIPX_WORKSPACE=str(tmp_path / "ws"), AIPX_PROJECT_ROOT=str(root), **extra)
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=300)


def _failed(result: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stderr.startswith("FAILED"), result.stderr
    for text in expected:
        assert text in result.stderr, result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("prices", "refresh"),
        ("budget", "--env", "dev", "--target", "aws"),
        ("pause", "--env", "dev", "--target", "aws"),
    ],
)
def test_a_missing_profile_is_named_not_a_traceback(tmp_path, args) -> None:
    _failed(_run(tmp_path, *args, AWS_PROFILE="doesnotexist"), "doesnotexist", "fix:")


def test_a_dead_proxy_is_named_as_the_cause(tmp_path) -> None:
    result = _run(
        tmp_path,
        "budget",
        "--env",
        "dev",
        "--target",
        "aws",
        AWS_ACCESS_KEY_ID="AKIAFAKE",
        AWS_SECRET_ACCESS_KEY="fake",
        HTTPS_PROXY="http://127.0.0.1:9",
        https_proxy="http://127.0.0.1:9",
    )
    _failed(result, "proxy http://127.0.0.1:9")


def test_a_plan_json_that_is_missing_invalid_or_not_a_plan_is_refused(tmp_path) -> None:
    invalid, empty = tmp_path / "invalid.json", tmp_path / "empty.json"
    invalid.write_text('{"format_version": ')
    empty.write_text("{}")
    _failed(_run(tmp_path, "cost", "--env", "dev", "--plan-json", str(tmp_path / "none.json")), "does not exist")
    _failed(_run(tmp_path, "cost", "--env", "dev", "--plan-json", str(invalid)), f"{invalid} line 1: not valid JSON")
    result = _run(tmp_path, "cost", "--env", "dev", "--plan-json", str(empty))
    _failed(result, "is not `terraform show -json` of a saved plan")
    assert "$0" not in result.stdout


@pytest.fixture
def project(tmp_path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(PROJECT_ROOT / "environments", root / "environments")
    (root / "terraform").mkdir()
    shutil.copytree(PROJECT_ROOT / "terraform" / "smoke", root / "terraform" / "smoke")
    return root


def test_a_setting_of_the_wrong_type_is_named_with_its_file_and_line(tmp_path, project) -> None:
    settings = project / "environments" / "dev" / "runbook.toml"
    lines = [line for line in settings.read_text().splitlines() if not line.startswith("region")]
    settings.write_text("region = 5\n" + "\n".join(lines) + "\n")
    _failed(_run(tmp_path, "cost", "--env", "dev", root=project), f"{settings} line 1: region must be a string")


def test_broken_tfvars_are_named_with_their_file_and_line(tmp_path, project) -> None:
    tfvars = project / "environments" / "dev" / "aws.tfvars"
    lines = tfvars.read_text().splitlines()
    tfvars.write_text("\n".join(lines) + "\nkafka_broker_count = = 2\n")
    _failed(_run(tmp_path, "cost", "--env", "dev", root=project), f"{tfvars} line {len(lines) + 1}", "not valid HCL")


VALIDATED_STACK = """
terraform {
  backend "s3" {}
}

variable "kafka_broker_count" {
  type = number
  validation {
    condition     = var.kafka_broker_count % 2 == 0
    error_message = "kafka_broker_count must be a multiple of the client subnets (2)."
  }
}
"""


def test_a_variable_validation_error_shows_terraforms_text_pointing_at_aws_tfvars(tmp_path, project) -> None:
    shutil.copytree(PROJECT_ROOT / "notebooks", project / "notebooks")
    tfvars = project / "environments" / "dev" / "aws.tfvars"
    text = tfvars.read_text().replace("kafka_broker_count       = 2", "kafka_broker_count       = 3")
    assert "kafka_broker_count       = 3" in text
    tfvars.write_text(text)
    line = next(n for n, source in enumerate(text.splitlines(), 1) if source.startswith("kafka_broker_count "))
    stack = tmp_path / "validated"
    stack.mkdir()
    (stack / "main.tf").write_text(VALIDATED_STACK)
    result = _run(tmp_path, "run", "--env", "dev", "--stack", str(stack), "--stages", "01,02,03", root=project)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "Invalid value for variable" in result.stderr
    assert f"on environments/dev/aws.tfvars line {line}:" in result.stderr
    assert "kafka_broker_count must be a multiple of the client subnets (2)." in result.stderr
    assert "tfvars.json" not in result.stderr and "read the Terraform error above" not in result.stderr
    assert "what to do: correct that value in environments/dev/aws.tfvars" in result.stderr
