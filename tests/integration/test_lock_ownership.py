"""A lock is released only by the command that can prove it took it.

Two applies of one environment, against one state, from two data directories (the same stack reached by two
paths, as `--stack smoke` and `--stack terraform/smoke` or two clones do), 0.3 s apart, with the real Terraform
binary and the real S3 backend on the moto server. The first holds the lock for seconds (a local-exec sleep); the
second's lock wait runs out first. It once force-unlocked the first one's live lock, because the lock named the
same user, host and operation and no Terraform ran in its own data directory, and applied at the same time.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time

import pytest

from aipx_runbook import locks, plans, stages
from aipx_runbook.context import StageContext
from aipx_runbook.errors import TerraformError
from aipx_runbook.terraform import TerraformRunner
from paths import TEST_DATA

pytestmark = pytest.mark.integration
STACK = """
terraform {
  backend "s3" {}
}

resource "terraform_data" "slow" {
  input = "created"
  provisioner "local-exec" {
    command = "sleep 8; echo ${self.id} >> ${path.module}/created.txt"
  }
}
"""


def _state_versions(ctx: StageContext) -> list[dict]:
    s3 = ctx.target.client("s3")
    bucket, key = ctx.settings.state_bucket, ctx.settings.state_key
    versions = s3.list_object_versions(Bucket=bucket, Prefix=key).get("Versions", [])
    ordered = sorted((v for v in versions if v["Key"] == key), key=lambda v: v["LastModified"])
    return [json.loads(s3.get_object(Bucket=bucket, Key=key, VersionId=v["VersionId"])["Body"].read()) for v in ordered]


def test_two_concurrent_applies_from_two_data_directories_never_steal_the_lock(
    stage_context, reset_emulator, tmp_path
) -> None:
    stack = tmp_path / "slowstack"
    stack.mkdir()
    (stack / "main.tf").write_text(STACK)
    other_path = tmp_path / "slowstack-by-path"
    other_path.symlink_to(stack)
    first = stage_context("apply", stack=stack, run_dir=tmp_path / "run-a")
    second = stage_context("apply", stack=other_path, run_dir=tmp_path / "run-b")
    assert first.stack_dir == second.stack_dir and first.settings.state_key == second.settings.state_key
    assert first.terraform_data_dir != second.terraform_data_dir

    stages.backend_setup(dataclasses.replace(first, stage="backend"))
    for ctx in (first, second):
        TerraformRunner(ctx).init()
        plans.save(ctx)

    outcomes: dict[str, object] = {}

    def apply(name: str, ctx: StageContext) -> None:
        try:
            outcomes[name] = TerraformRunner(ctx, lock_timeout="2s").apply(plans.plan_path(ctx, plans.PLAN))
        except TerraformError as error:
            outcomes[name] = error

    threads = [threading.Thread(target=apply, args=("first", first))]
    threads[0].start()
    time.sleep(0.3)
    threads.append(threading.Thread(target=apply, args=("second", second)))
    threads[1].start()
    for thread in threads:
        thread.join(timeout=120)

    applied = [name for name, outcome in outcomes.items() if not isinstance(outcome, TerraformError)]
    assert applied == ["first"], outcomes
    refused = outcomes["second"]
    assert isinstance(refused, TerraformError)
    held = locks.Lock.from_error(refused.stderr)
    assert held is not None and held.operation == "OperationTypeApply"
    # it says who holds the lock, since when, and the exact command to release it after checking
    assert held.who in refused.fix and held.since in refused.fix
    assert f"--stages state -p confirm_lock_id={held.id}" in refused.fix and "left alone" in refused.fix

    versions = _state_versions(first)
    serials = [version["serial"] for version in versions]
    assert serials == sorted(set(serials)), serials  # only grows, never written twice
    assert len({version["lineage"] for version in versions}) == 1
    created = (stack / "created.txt").read_text().split()
    in_state = [
        instance["attributes"]["id"] for resource in versions[-1]["resources"] for instance in resource["instances"]
    ]
    assert created == in_state and len(created) == 1  # nothing created outside the state
    assert TerraformRunner(first).state_list() == ["terraform_data.slow"]


def test_a_lock_proven_by_the_own_log_is_recognised_and_no_other(tmp_path) -> None:
    captured = (TEST_DATA / "errors" / "state-locked.txt").read_text()
    lock = locks.Lock.from_error(captured)
    assert lock is not None
    own_log = (
        "2026-11-28T08:52:39.060Z [INFO]  backend-s3: Attempting to lock remote state (DynamoDB only)...: "
        f'tf_backend.lock.id={lock.id} tf_backend.lock.info="" tf_backend.lock.operation=OperationTypeApply\n'
    )
    other_log = own_log.replace(lock.id, "11111111-2222-3333-4444-555555555555")
    assert locks.proven_own(captured, own_log) == lock
    assert locks.proven_own(captured, other_log) is None
    assert locks.proven_own(captured, "") is None
    assert locks.proven_own("Error: Invalid value", own_log) is None
