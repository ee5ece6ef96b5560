"""Plans with exclusions: the `exclude` parameter and the targets computed from Terraform's resource graph."""

from __future__ import annotations

import pytest

from aipx_runbook.errors import UsageError
from aipx_runbook.targeting import ResourceGraph, parse_exclusions, select

# `terraform graph` of a small configuration, in the form Terraform 1.11 writes it.
DOT = """digraph G {
  rankdir = "RL";
  node [shape = rect, fontname = "sans-serif"];
  "data.aws_iam_policy_document.access" [label="data.aws_iam_policy_document.access"];
  "aws_kms_key.this" [label="aws_kms_key.this"];
  "aws_msk_configuration.this" [label="aws_msk_configuration.this"];
  "aws_msk_cluster.this" [label="aws_msk_cluster.this"];
  "aws_lambda_function.this" [label="aws_lambda_function.this"];
  "aws_apigatewayv2_integration.cognitive" [label="aws_apigatewayv2_integration.cognitive"];
  "aws_s3_bucket.data_lake" [label="aws_s3_bucket.data_lake"];
  "module.vpc.aws_subnet.database" [label="module.vpc.aws_subnet.database"];
  "aws_msk_cluster.this" -> "aws_msk_configuration.this";
  "aws_msk_cluster.this" -> "aws_kms_key.this";
  "aws_msk_cluster.this" -> "module.vpc.aws_subnet.database";
  "aws_lambda_function.this" -> "aws_msk_cluster.this";
  "aws_lambda_function.this" -> "data.aws_iam_policy_document.access";
  "aws_apigatewayv2_integration.cognitive" -> "aws_lambda_function.this";
  "aws_s3_bucket.data_lake" -> "aws_kms_key.this";
}
"""


def test_a_plan_leaves_out_the_excluded_and_everything_that_depends_on_them() -> None:
    graph = ResourceGraph.from_dot(DOT)
    assert "data.aws_iam_policy_document.access" not in graph.dependencies, "data sources are not targets"
    selection = select(graph, ("aws_msk_cluster.this",))
    assert selection.left_out == (
        "aws_apigatewayv2_integration.cognitive",
        "aws_lambda_function.this",
        "aws_msk_cluster.this",
    )
    assert selection.dependents == ("aws_apigatewayv2_integration.cognitive", "aws_lambda_function.this")
    assert set(selection.targets) == {
        "aws_kms_key.this",
        "aws_msk_configuration.this",
        "aws_s3_bucket.data_lake",
        "module.vpc.aws_subnet.database",
    }


def test_a_destroy_plan_keeps_the_excluded_and_everything_they_depend_on() -> None:
    selection = select(ResourceGraph.from_dot(DOT), ("aws_msk_cluster.this",), destroy=True)
    assert set(selection.left_out) == {
        "aws_msk_cluster.this",
        "aws_msk_configuration.this",
        "aws_kms_key.this",
        "module.vpc.aws_subnet.database",
    }
    assert set(selection.targets) == {
        "aws_lambda_function.this",
        "aws_apigatewayv2_integration.cognitive",
        "aws_s3_bucket.data_lake",
    }


def test_an_unknown_address_is_refused_with_the_known_ones() -> None:
    with pytest.raises(UsageError) as raised:
        select(ResourceGraph.from_dot(DOT), ("aws_msk_cluster.that",))
    assert "aws_msk_cluster.that" in raised.value.why and "aws_kms_key.this" in raised.value.fix


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", ()),
        ([], ()),
        ("aws_msk_cluster.this", ("aws_msk_cluster.this",)),
        (
            "aws_msk_cluster.this, module.vpc.aws_nat_gateway.this",
            ("aws_msk_cluster.this", "module.vpc.aws_nat_gateway.this"),
        ),
        ('["aws_msk_cluster.this", "aws_msk_cluster.this"]', ("aws_msk_cluster.this",)),
        (["aws_elasticache_user_group.this"], ("aws_elasticache_user_group.this",)),
    ],
)
def test_exclude_accepts_a_list_or_the_string_papermill_passes(value: object, expected: tuple[str, ...]) -> None:
    assert parse_exclusions(value) == expected


@pytest.mark.parametrize("value", [True, 3, {"a": 1}, "aws_msk_cluster", "aws_s3_bucket.data_lake[0]", [1]])
def test_exclude_refuses_what_is_not_a_list_of_resource_addresses(value: object) -> None:
    with pytest.raises(UsageError):
        parse_exclusions(value)
