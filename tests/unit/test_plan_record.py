"""The plan record's digest, drift paths and the reviewed-plan comparison, on plan JSON shaped as Terraform writes it
(`terraform show -json`; the integration tests use real plans)."""

from __future__ import annotations

import copy
import dataclasses
import json

import pytest

from aipx_runbook import plan_record, reviewed
from aipx_runbook.drift import DriftOutcome
from aipx_runbook.errors import RunbookError
from aipx_runbook.plan_record import PlanRecord

PLAN = {
    "resource_changes": [
        {
            "address": "aws_db_instance.this",
            "type": "aws_db_instance",
            "change": {
                "actions": ["update"],
                "before": {"instance_class": "db.t3.micro", "password": "old-secret", "tags": {"a": "1"}},
                "after": {"instance_class": "db.t3.small", "password": "new-secret", "tags": {"a": "1"}},
                "before_sensitive": {"password": True},
                "after_sensitive": {"password": True},
                "after_unknown": {},
            },
        },
        {"address": "data.aws_region.current", "type": "aws_region", "change": {"actions": ["read"]}},
    ],
    "output_changes": {
        "endpoint": {"actions": ["update"], "before": "x", "after": "y", "after_sensitive": True},
    },
    "resource_drift": [
        {
            "address": "aws_s3_bucket.b",
            "type": "aws_s3_bucket",
            "change": {
                "actions": ["update"],
                "before": {"tags": {"Owner": "a"}, "versioning": [{"enabled": False}]},
                "after": {"tags": {"Owner": "b"}, "versioning": [{"enabled": False}]},
            },
        },
        {"address": "aws_db_instance.this", "type": "aws_db_instance", "change": {"actions": ["update"]}},
    ],
}


def test_the_digest_ignores_sensitive_values_and_data_reads_but_not_other_changes() -> None:
    digest = plan_record.changes_digest(PLAN)
    secret_changed = copy.deepcopy(PLAN)
    secret_changed["resource_changes"][0]["change"]["after"]["password"] = "another-secret"
    secret_changed["output_changes"]["endpoint"]["after"] = "z"
    secret_changed["resource_changes"].reverse()
    assert plan_record.changes_digest(secret_changed) == digest
    sized_differently = copy.deepcopy(PLAN)
    sized_differently["resource_changes"][0]["change"]["after"]["instance_class"] = "db.t3.large"
    assert plan_record.changes_digest(sized_differently) != digest
    assert "new-secret" not in json.dumps(plan_record.redact(PLAN["resource_changes"][0]["change"]["after"], True))


def test_drift_names_the_attribute_paths_and_whether_the_plan_puts_them_back() -> None:
    records = plan_record.drift_records(PLAN)
    assert [(r.address, r.attributes, r.corrected) for r in records] == [
        ("aws_db_instance.this", [], True),
        ("aws_s3_bucket.b", ["tags.Owner"], False),
    ]
    assert plan_record.differing_paths({"l": [1, 2]}, {"l": [1, 3]}) == ["l[1]"]
    assert plan_record.differing_paths({"l": [1]}, {"l": [1, 2]}) == ["l"]


def _record(**changes) -> PlanRecord:
    base = PlanRecord(
        environment="dev",
        stack="aipx",
        target="aws",
        stack_digest="a" * 64,
        terraform_version="1.11.4",
        created_at="2026-01-01T00:00:00Z",
        plan_sha256="b" * 64,
        destroy=False,
        counts={"add": 1, "change": 0, "destroy": 0, "replace": 0, "outputs_changed": 0},
        changes_digest="c" * 64,
        resource_changes=[plan_record.ChangeRecord("aws_x.a", "aws_x", "create", "shared")],
        drift=[],
        outputs=[],
    )
    return dataclasses.replace(base, **changes)


def test_drift_outside_what_the_code_sets_is_listed_but_is_no_disagreement(tmp_path) -> None:
    kept = plan_record.DriftRecord("aws_s3_bucket.b", "aws_s3_bucket", "update", ["versioning[0].enabled"], False)
    outcome = DriftOutcome.from_record(_record(drift=[kept], resource_changes=[]), tmp_path)
    assert outcome.agree
    assert outcome.lines()[1:] == [
        "changed outside Terraform (1):",
        "  aws_s3_bucket.b  changed: versioning[0].enabled (not set by the code: Terraform keeps it)",
    ]
    assert not DriftOutcome.from_record(_record(), tmp_path).agree


def test_the_reviewed_plan_must_match_in_every_compared_fact(tmp_path) -> None:
    assert reviewed.differences(_record(), _record(created_at="2026-02-02T00:00:00Z", plan_sha256="d" * 64)) == []
    found = reviewed.differences(
        _record(),
        _record(environment="staging", stack_digest="e" * 64, counts={"add": 2}, changes_digest="f" * 64),
    )
    assert found[0] == "environment: reviewed 'dev', now 'staging'"
    assert found[1].startswith("stack digest: reviewed aaaaaaaaaaaa, now eeeeeeeeeeee")
    assert found[2] == "plan counts: add 1 → 2"
    assert found[3].startswith("resource changes: reviewed digest cccccccccccc, now ffffffffffff")

    (tmp_path / "reviewed.json").write_text(_record().to_json())
    (tmp_path / "current.json").write_text(_record(changes_digest="f" * 64).to_json())
    with pytest.raises(RunbookError) as caught:
        reviewed.require_match(str(tmp_path / "reviewed.json"), tmp_path / "current.json", "b" * 64)
    assert caught.value.what == "apply the reviewed plan" and caught.value.fix.startswith("nothing was applied")
    with pytest.raises(RunbookError, match="describes another plan than the saved one"):
        reviewed.require_match(str(tmp_path / "reviewed.json"), tmp_path / "current.json", "0" * 64)


def test_a_file_that_is_not_a_record_is_refused_with_what_why_fix(tmp_path) -> None:
    (tmp_path / "summary.json").write_text('{"environment": "dev"}')
    for path, why in ((tmp_path / "summary.json", "is not a plan record"), (tmp_path / "none.json", "does not exist")):
        with pytest.raises(RunbookError) as caught:
            PlanRecord.read(path)
        assert why in caught.value.why and "tfplan.record.json" in caught.value.fix
