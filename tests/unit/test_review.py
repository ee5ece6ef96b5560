"""The plan review: destructive changes first with what forces them, drift apart, outputs masked, per component.

One test plans a real change with the real Terraform binary (builtin ``terraform_data`` resources, local
backend, no provider download); the others feed documents in the shape ``terraform show -json`` writes.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
from pathlib import Path

import hcl2
import pytest

from aipx_runbook.review import COMPONENTS, MASK, PlanReview, action_of, component_of
from paths import PROJECT_ROOT

CANARY = "canary-7f3a9c"

MODULE = """
variable "generation" { default = 1 }
variable "secret" {
  default   = "first-secret"
  sensitive = true
}
resource "terraform_data" "kept" { input = "same" }
resource "terraform_data" "changed" { input = "v${var.generation}" }
resource "terraform_data" "replaced" { triggers_replace = [var.generation] }
resource "terraform_data" "removed" { count = var.generation == 1 ? 1 : 0 }
output "plain" { value = "p${var.generation}" }
output "secret" {
  value     = var.secret
  sensitive = true
}
"""


def _svg(figure: str) -> str:
    return base64.b64decode(re.search(r"base64,([A-Za-z0-9+/=]+)", figure).group(1)).decode()


def _change(address: str, resource_type: str, actions: list[str], **extra) -> dict:
    return {"address": address, "type": resource_type, "change": {"actions": actions, **extra}}


@pytest.mark.integration
def test_review_of_a_real_plan_puts_destructive_changes_first_with_their_cause(tmp_path, terraform_bin) -> None:
    (tmp_path / "main.tf").write_text(MODULE)

    def terraform(*args: str) -> str:
        done = subprocess.run([terraform_bin, *args], cwd=tmp_path, capture_output=True, text=True, check=True)
        return done.stdout

    terraform("init", "-input=false")
    terraform("apply", "-auto-approve", "-input=false")
    terraform("plan", "-input=false", "-out=tfplan", "-var", "generation=2", "-var", f"secret={CANARY}")
    review = PlanReview.from_show_json(json.loads(terraform("show", "-json", "tfplan")))

    assert [(c.address, c.action) for c in review.destructive] == [
        ("terraform_data.removed[0]", "delete"),
        ("terraform_data.replaced", "replace"),
    ]
    replaced = review.destructive[1]
    assert replaced.replace_paths == ("triggers_replace",) and replaced.reason == "replace because cannot update"
    assert review.destructive[0].reason == "delete because count index"
    assert review.counts == {
        "add": 1,
        "change": 1,
        "destroy": 2,
        "replace": 1,
        "delete": 1,
        "import": 0,
        "drift": 0,
        "outputs_changed": 2,
    }
    report = review.report("plan")
    assert report.status == "warn"
    assert report.tables[0].title.startswith("Destructive: 2")
    assert report.tables[0].rows[1] == ["terraform_data.replaced", "replace", "triggers_replace", replaced.reason]
    outputs = {row[0]: row[2] for row in report.tables[-1].rows}
    assert outputs == {"plain": "p2", "secret": MASK}
    everything = str(report) + report._repr_html_() + json.dumps(report.facts)
    assert CANARY not in everything and "first-secret" not in everything


def test_replacement_is_either_order_of_create_and_delete() -> None:
    assert action_of(["delete", "create"]) == action_of(["create", "delete"]) == "replace"
    assert action_of(["no-op"], importing=True) == "import"
    assert action_of([]) == "no-op"


@pytest.mark.parametrize(
    ("address", "resource_type", "component"),
    [
        ("module.vpc.aws_iam_role.vpc_flow_log_cloudwatch", "aws_iam_role", "network"),
        ("aws_security_group.msk", "aws_security_group", "network"),
        ("aws_msk_cluster.this", "aws_msk_cluster", "streaming"),
        ("aws_elasticache_replication_group.this", "aws_elasticache_replication_group", "cache"),
        ("aws_iam_role.rds_enhanced_monitoring", "aws_iam_role", "database"),
        ("aws_s3_bucket_policy.data_lake", "aws_s3_bucket_policy", "storage"),
        ('aws_ecs_service.this["oms"]', "aws_ecs_service", "compute"),
        ("aws_iam_role.ecs_execution", "aws_iam_role", "compute"),
        ('aws_lambda_function.this["cognitive"]', "aws_lambda_function", "functions"),
        ("aws_lambda_permission.cognitive_api", "aws_lambda_permission", "api"),
        ("aws_apigatewayv2_stage.default", "aws_apigatewayv2_stage", "api"),
        ("aws_kms_key.this", "aws_kms_key", "shared"),
    ],
)
def test_component_of_follows_type_then_name(address, resource_type, component) -> None:
    assert component_of(address, resource_type) == component


def _declared_resources(path: Path) -> list[tuple[str, str]]:
    with path.open() as handle:
        blocks = hcl2.load(handle).get("resource", [])
    return [(kind.strip('"'), name.strip('"')) for block in blocks for kind, names in block.items() for name in names]


def test_every_resource_of_the_aipx_stack_lands_in_the_component_its_file_names() -> None:
    stack = PROJECT_ROOT / "terraform" / "aws"
    checked = 0
    for component in COMPONENTS:
        path = stack / f"{component}.tf"
        if not path.exists():
            continue
        for kind, name in _declared_resources(path):
            assert component_of(f"{kind}.{name}", kind) == component, f"{kind}.{name} in {path.name}"
            checked += 1
    for path in sorted((stack / "modules" / "vpc").glob("*.tf")):
        for kind, name in _declared_resources(path):
            assert component_of(f"module.vpc.{kind}.{name}", kind) == "network"
            checked += 1
    assert checked > 0, "terraform/aws declares no resources in component files"


def test_drift_is_listed_apart_and_not_counted_as_a_change() -> None:
    plan = {
        "resource_drift": [
            _change("aws_s3_bucket.data_lake", "aws_s3_bucket", ["update"]),
            _change("aws_sqs_queue.gone", "aws_sqs_queue", ["delete"]),
        ],
        "resource_changes": [_change("aws_s3_bucket.data_lake", "aws_s3_bucket", ["update"])],
    }
    review = PlanReview.from_show_json(plan)
    report = review.report("plan")
    assert review.counts["drift"] == 2 and review.counts["change"] == 1
    drift = next(t for t in report.tables if t.title.startswith("Changed outside Terraform"))
    assert drift.rows == [
        ["aws_s3_bucket.data_lake", "changed outside Terraform"],
        ["aws_sqs_queue.gone", "deleted outside Terraform"],
    ]
    assert any("outside Terraform" in note for note in report.notes)


def test_partly_sensitive_and_unknown_outputs() -> None:
    plan = {
        "output_changes": {
            "endpoints": {
                "actions": ["create"],
                "after": {"db": CANARY, "name": "x"},
                "after_sensitive": {"db": True},
                "after_unknown": False,
            },
            "vpc_id": {"actions": ["create"], "after": None, "after_unknown": True, "after_sensitive": False},
            "same": {"actions": ["no-op"], "after": "a", "before": "a"},
            "old": {"actions": ["delete"], "before": "gone", "after": None},
        }
    }
    rows = {row[0]: row[1:] for row in PlanReview.from_show_json(plan).report("plan").tables[-1].rows}
    assert rows == {"endpoints": ["create", MASK], "old": ["delete", ""], "vpc_id": ["create", "(known after apply)"]}


def test_no_changes_is_a_first_class_result() -> None:
    review = PlanReview.from_show_json({"resource_changes": [_change("a.b", "aws_vpc", ["no-op"])]})
    report = review.report("plan")
    assert not review.has_changes and report.status == "ok"
    assert report.summary.startswith("No changes") and report.figures == [] and report.tables == []


def test_a_change_that_deletes_the_state_backend_is_found() -> None:
    state_bucket = _change("aws_s3_bucket.state", "aws_s3_bucket", ["delete"], before={"bucket": "aipx-tf-state"})
    other_bucket = _change("aws_s3_bucket.data_lake", "aws_s3_bucket", ["delete"], before={"bucket": "aipx-dev-lake"})
    table = _change("aws_dynamodb_table.locks", "aws_dynamodb_table", ["delete", "create"], before={"name": "locks"})
    review = PlanReview.from_show_json({"resource_changes": [state_bucket, other_bucket, table]})
    assert review.protected_addresses("aipx-tf-state", "locks") == ["aws_s3_bucket.state", "aws_dynamodb_table.locks"]
    assert review.protected_addresses("elsewhere", "other") == []


def test_chart_counts_changes_per_component_and_is_stable() -> None:
    plan = {
        "resource_changes": [
            _change("module.vpc.aws_subnet.private[0]", "aws_subnet", ["create"]),
            _change("module.vpc.aws_subnet.private[1]", "aws_subnet", ["create"]),
            _change("aws_msk_cluster.this", "aws_msk_cluster", ["delete", "create"]),
            _change("aws_db_instance.this", "aws_db_instance", ["update"]),
        ]
    }
    review = PlanReview.from_show_json(plan)
    table = review.per_component()
    assert list(table)[: len(COMPONENTS)] == list(COMPONENTS)
    assert table["network"] == {"create": 2} and table["streaming"] == {"replace": 1} and table["cache"] == {}
    report = review.report("plan")
    assert report.facts["components"] == {"network": 2, "streaming": 1, "database": 1}
    figure = report.figures[0]
    assert figure.startswith("<img") and "network: 2 create" in figure
    svg = _svg(figure)
    assert "<svg" in svg and "Changes per component" in svg and "streaming" in svg
    assert _svg(review.report("plan").figures[0]) == svg, "the same plan draws the same chart"


def test_the_plan_table_is_grouped_by_component_summary_first_details_collapsed() -> None:
    plan = {
        "resource_changes": [
            _change("module.vpc.aws_subnet.private[0]", "aws_subnet", ["create"]),
            _change("module.vpc.aws_subnet.private[1]", "aws_subnet", ["create"]),
            _change("aws_db_instance.this", "aws_db_instance", ["update"]),
        ]
    }
    report = PlanReview.from_show_json(plan).report("plan")
    summary, *groups = report.tables
    assert summary.title == "Changes per component" and not summary.collapsed
    assert summary.columns == ["component", "update", "create", "total"]
    assert summary.rows == [["network", 0, 2, 2], ["database", 1, 0, 1]]
    assert [(g.title, g.collapsed, len(g.rows)) for g in groups] == [
        ("network: 2 (2 create)", True, 2),
        ("database: 1 (1 update)", True, 1),
    ]
    page = report._repr_html_()
    assert page.index("Changes per component") < page.index("<details>"), "the summary comes first"
    assert "<summary style='cursor:pointer'><b>network: 2 (2 create)</b></summary>" in page
    assert '<td style="text-align:left;vertical-align:top">module.vpc.aws_subnet.private[0]</td>' in page
