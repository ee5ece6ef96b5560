"""Nothing holding variables or state is written outside the owner-only private store (``<workspace>/.aipx``).

- A canary set in ``environments/dev/aws.tfvars`` (the smoke stack's sensitive ``database_host``) never reaches
  the temp directory: python-terraform once wrote every ``-var`` set into a ``tmp*.tfvars.json`` there and never
  deleted it.
- The plan store prunes the plans of runs that have ended.
- When Terraform cannot save the state (the bucket refuses it mid-apply), its ``errored.tfstate``, sensitive
  values in clear, is moved owner-only into the store, and the failure gives the exact ``terraform state push``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import stat
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from aipx_runbook import config, plan_store, plans, stages
from aipx_runbook.errors import TerraformError
from paths import PROJECT_ROOT

pytestmark = pytest.mark.integration


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A copy of the project whose dev aws.tfvars holds a canary, so no committed file is touched."""
    root = tmp_path / "project"
    shutil.copytree(PROJECT_ROOT / "environments", root / "environments")
    shutil.copytree(PROJECT_ROOT / "terraform" / "smoke", root / "terraform" / "smoke")
    (root / "terraform" / "aws").mkdir()
    monkeypatch.setenv("AIPX_PROJECT_ROOT", str(root))
    return root


@pytest.fixture
def private_tmp(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "tmpdir"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _holding(folder: Path, needle: bytes, skip: tuple[Path, ...] = ()) -> list[str]:
    return sorted(
        str(path)
        for path in folder.rglob("*")
        if path.is_file() and not any(path.is_relative_to(s) for s in skip) and needle in path.read_bytes()
    )


def test_a_tfvars_canary_reaches_neither_the_temp_dir_nor_anything_outside_the_store(
    stage_context, moto_server, reset_emulator, project, private_tmp, tmp_path, workspace
) -> None:
    canary = f"canary-{secrets.token_hex(8)}.db.invalid"
    tfvars = project / "environments" / "dev" / "aws.tfvars"
    tfvars.write_text(tfvars.read_text() + f'\ndatabase_host = "{canary}"\n')
    run_dir = tmp_path / "run"

    def at(stage: str):
        return stage_context(stage, stack="smoke", run_dir=run_dir)

    stages.backend_setup(at("backend"))
    stages.init(at("init"))
    stages.plan(at("plan"))
    stages.apply(at("apply"), auto_approve=True)
    report = stages.outputs(at("verify"))
    assert "database_endpoint" in report.facts["sensitive"]
    ctx = at("verify")
    state = ctx.target.client("s3").get_object(Bucket=ctx.settings.state_bucket, Key=ctx.settings.state_key)
    assert canary.encode() in state["Body"].read(), "the canary really went through Terraform"

    assert _holding(private_tmp, canary.encode()) == []
    assert list(private_tmp.glob("tmp*.tfvars.json")) == []
    assert _holding(run_dir, canary.encode()) == []
    assert _holding(project, canary.encode(), skip=(tfvars,)) == []
    store = config.state_dir()
    assert _holding(workspace, canary.encode(), skip=(store,)) == []
    assert stat.S_IMODE(store.stat().st_mode) == 0o700
    assert list((store / "terraform-processes").iterdir()) == [], "variable files and output are deleted"


def test_the_plan_store_prunes_plans_of_runs_that_have_ended(
    stage_context, moto_server, reset_emulator, tmp_path
) -> None:
    def at(stage: str, run: str):
        return stage_context(stage, stack="smoke", run_dir=tmp_path / run)

    stages.backend_setup(at("backend", "gone"))
    stages.init(at("init", "gone"))
    for run in ("gone", "old", "fresh"):
        plans.save(at("plan", run))
    gone, old, fresh = (plans.store_dir(at("plan", run)) for run in ("gone", "old", "fresh"))
    shutil.rmtree(tmp_path / "gone")  # a run directory deleted: its run has ended
    day_and_more = time.time() - (plan_store.PLAN_LIFETIME_HOURS + 1) * 3600
    for path in old.iterdir():
        os.utime(path, (day_and_more, day_and_more))

    plans.save(at("plan", "new"))

    assert not gone.exists() and not old.exists()
    assert (fresh / plans.PLAN).exists() and (plans.store_dir(at("plan", "new")) / plans.PLAN).exists()
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o700 and stat.S_IMODE((fresh / plans.PLAN).stat().st_mode) == 0o600


SLOW_STACK = """
terraform {
  backend "s3" {}
}

resource "terraform_data" "slow" {
  input = "created"
  provisioner "local-exec" {
    command = "sleep 6"
  }
}

output "secret" {
  value     = "SECRET"
  sensitive = true
}
"""


def test_an_errored_state_is_moved_into_the_store_with_the_exact_recovery(
    stage_context, moto_server, reset_emulator, tmp_path
):
    secret = f"errored-{secrets.token_hex(6)}"
    stack = tmp_path / "errstack"
    stack.mkdir()
    (stack / "main.tf").write_text(SLOW_STACK.replace("SECRET", secret))

    def at(stage: str):
        return stage_context(stage, stack=str(stack), run_dir=tmp_path / "run")

    stages.backend_setup(at("backend"))
    stages.init(at("init"))
    stages.plan(at("plan"))
    ctx = at("apply")
    s3, bucket = ctx.target.client("s3"), ctx.settings.state_bucket
    deny = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }
    original = s3.get_bucket_policy(Bucket=bucket)["Policy"] if _has_policy(s3, bucket) else None
    # the bucket starts refusing writes while the apply runs, as a revoked permission or a dead endpoint would
    timer = threading.Timer(2.0, lambda: s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(deny)))
    timer.start()
    try:
        with pytest.raises(TerraformError) as failed:
            stages.apply(ctx, auto_approve=True)
    finally:
        timer.join()
        if original:
            s3.put_bucket_policy(Bucket=bucket, Policy=original)
        else:
            s3.delete_bucket_policy(Bucket=bucket)

    assert not (stack / "errored.tfstate").exists()
    recovered = list((config.state_dir() / "recovered").glob("*.errored.tfstate"))
    assert len(recovered) == 1
    saved = recovered[0]
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600 and secret in saved.read_text()
    details = failed.value.details
    assert str(saved) in details and "terraform state push" in details
    command = next(
        line.strip() for line in details.splitlines() if "terraform state push" in line and str(saved) in line
    )
    pushed = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120)
    assert pushed.returncode == 0, pushed.stderr
    state = json.loads(s3.get_object(Bucket=bucket, Key=ctx.settings.state_key)["Body"].read())
    assert [resource["name"] for resource in state["resources"]] == ["slow"]


def _has_policy(s3, bucket: str) -> bool:
    try:
        s3.get_bucket_policy(Bucket=bucket)
        return True
    except s3.exceptions.ClientError:
        return False
