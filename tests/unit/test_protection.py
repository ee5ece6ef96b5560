"""Which planned changes touch the state backend, from `terraform show -json` shapes Terraform 1.11 writes."""

from __future__ import annotations

import pytest

from aipx_runbook import protection

BUCKET, TABLE = "aipx-terraform-state", "aipx-terraform-locks"


def _change(address: str, actions: list[str], before: dict | None, after: dict | None = None) -> dict:
    return {
        "address": address,
        "type": address.split(".")[-2],
        "change": {"actions": actions, "before": before, "after": after},
    }


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (_change("aws_s3_bucket.state", ["delete"], {"bucket": BUCKET, "id": BUCKET}), "it is the state bucket"),
        (
            _change("aws_s3_bucket_versioning.v", ["update"], {"bucket": BUCKET}, {"bucket": BUCKET}),
            "a setting of the state bucket aipx-terraform-state (versioning)",
        ),
        (
            _change("aws_s3_bucket_public_access_block.p", ["delete"], {"bucket": BUCKET}),
            "(public_access_block)",
        ),
        (
            _change("aws_s3_bucket_policy.p", ["create"], None, {"bucket": BUCKET}),
            "(policy)",
        ),
        (
            _change("aws_s3_object.state", ["delete"], {"bucket": BUCKET, "key": "aws/dev/terraform.tfstate"}),
            "an object in the state bucket aipx-terraform-state (key aws/dev/terraform.tfstate)",
        ),
        (
            _change("module.x.aws_dynamodb_table.locks", ["delete", "create"], {"name": TABLE}, {"name": TABLE}),
            "it is the lock table",
        ),
        (
            _change("aws_dynamodb_table_item.lock", ["delete"], {"table_name": TABLE}),
            "part of the lock table",
        ),
    ],
)
def test_changes_to_the_backend_are_refused(change, reason) -> None:
    found = protection.refusals({"resource_changes": [change]}, BUCKET, TABLE)
    assert [r.address for r in found] == [change["address"]]
    assert reason in found[0].reason
    assert found[0].action in ("create", "update", "delete", "replace")


@pytest.mark.parametrize(
    "change",
    [
        _change("aws_s3_bucket.state", ["no-op"], {"bucket": BUCKET}, {"bucket": BUCKET}),  # an import alone
        _change("aws_s3_bucket.state", ["forget"], {"bucket": BUCKET}),  # removed { destroy = false }
        _change("aws_s3_bucket.lake", ["delete"], {"bucket": "aipx-dev-data-lake"}),
        _change("aws_dynamodb_table.other", ["delete"], {"name": "orders"}),
        _change("aws_s3_bucket.new", ["create"], None, {"bucket": None}),  # name known after apply
    ],
)
def test_other_changes_pass(change) -> None:
    assert protection.refusals({"resource_changes": [change]}, BUCKET, TABLE) == []
