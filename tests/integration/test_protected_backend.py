"""No saved plan may change the state backend: a stack that imported the state bucket and its versioning, then
dropped them, is refused at plan, at apply and at destroy, before any approval; the bucket and its versioning stay.

Real Terraform with the AWS provider (from the filesystem mirror, tests/terraform_mirror.py) against the moto server.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from aipx_runbook import plans, stages
from aipx_runbook.errors import RunbookError
from paths import TEST_DATA
from terraform_mirror import ProviderInstallation

pytestmark = pytest.mark.integration
STACK = TEST_DATA / "stacks" / "backend_import"
BUCKET = "aipx-terraform-state"


@pytest.fixture
def careless_stack(aipx_providers: ProviderInstallation, moto_server, reset_emulator, tmp_path, monkeypatch) -> Path:
    for name, value in aipx_providers.environment.items():
        monkeypatch.setenv(name, value)
    return Path(shutil.copytree(STACK, tmp_path / "careless"))


@pytest.fixture
def at(stage_context, careless_stack, tmp_path):
    """The careless stack's stages, dev, in one run directory."""
    return lambda name: stage_context(name, stack=careless_stack, run_dir=tmp_path / "run")


def _bucket_intact(ctx) -> None:
    s3 = ctx.target.client("s3")
    s3.head_bucket(Bucket=BUCKET)
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"


def test_a_plan_that_drops_the_imported_state_bucket_is_refused_everywhere(careless_stack, at) -> None:
    stages.backend_setup(at("backend"))
    stages.init(at("init"))
    imported = stages.plan(at("plan"))
    assert imported.facts["import"] == 2 and imported.facts["destroy"] == 0, imported.summary
    stages.apply(at("apply"), auto_approve=True)

    # A destroy of this stack would delete the bucket: refused at the destroy review, before any approval.
    with pytest.raises(RunbookError) as refused:
        stages.destroy_plan(at("destroy"))
    assert "aws_s3_bucket.state (delete): it is the state bucket aipx-terraform-state" in refused.value.why
    assert "aws_s3_bucket_versioning.state (delete): it is a setting of the state bucket" in refused.value.why

    # The stack drops them: stage 03 refuses the plan and keeps no saved plan of it.
    (careless_stack / "adopt.tf").unlink()
    with pytest.raises(RunbookError) as refused:
        stages.plan(at("plan"))
    assert refused.value.what == "check the saved plan (tfplan)"
    assert "aws_s3_bucket.state (delete)" in refused.value.why and "removed {" in refused.value.fix
    assert not plans.plan_path(at("plan"), plans.PLAN).exists()

    # A plan saved some other way (the library directly, an older runbook) is refused by apply, before approval.
    plans.save(at("plan"), plans.PLAN)
    with pytest.raises(RunbookError, match=r"aws_s3_bucket_versioning.state \(delete\)"):
        stages.apply(at("apply"), auto_approve=True)
    _bucket_intact(at("verify"))


def test_suspending_the_state_buckets_versioning_is_refused(careless_stack, at) -> None:
    stages.backend_setup(at("backend"))
    stages.init(at("init"))
    adopt = careless_stack / "adopt.tf"
    adopt.write_text(adopt.read_text().replace('status = "Enabled"', 'status = "Suspended"'))
    with pytest.raises(RunbookError, match=r"aws_s3_bucket_versioning.state \(update\): it is a setting"):
        stages.plan(at("plan"))
    _bucket_intact(at("verify"))
