"""The estimator's arithmetic on known inputs, from tfvars and from a saved plan, and how it is shown."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from aipx_runbook import cli, config, plans, prices, terraform
from aipx_runbook.aws import AwsTarget
from aipx_runbook.context import StageContext
from aipx_runbook.costing import assumptions as cost_assumptions
from aipx_runbook.costing import estimates, model, usage
from aipx_runbook.costing import report as cost_report
from aipx_runbook.costing import seed as seed_comparison
from aipx_runbook.costing import sizing as cost_sizing
from aipx_runbook.errors import RunbookError
from paths import PROJECT_ROOT

# Worked out by hand from SIZING_TFVARS, ASSUMPTIONS_TOML (720 hours) and ROUND_PRICES in conftest.py.
EXPECTED_COMPONENTS = {
    # 3 NAT (no single NAT, 3 AZs) × 720 h × 0.5 + 10 GB × 0.1 + ALB 720 × 0.3 + 2 LCU × 720 × 0.02
    # + NLB 720 × 0.2 + 2 NLCU × 720 × 0.01 + 1 endpoint × 3 AZs × 720 × 0.05 + 100 GB × 0.01
    # + 3 NAT EIPs (public IPv4) × 720 h × 0.01
    "network": 1080 + 1 + 216 + 28.8 + 144 + 14.4 + 108 + 1 + 21.6,
    "streaming": 3 * 720 * 2.0 + 3 * 100 * 0.1,  # brokers, then 3 × 100 GB of broker storage
    "cache": 3 * (1 + 1) * 720 * 1.0,  # 3 node groups × (1 primary + 1 replica)
    "database": 720 * 4.0 + 100 * 0.2,  # Multi-AZ instance and Multi-AZ storage
    "storage": 1000 * 0.02,
    "compute": 4 * 1 * 720 * 0.04 + 4 * 2 * 720 * 0.005,  # 2 + 2 tasks of 1 vCPU and 2 GB
    "functions": 2 * 0.2 + 2_000_000 * 0.5 * 1 * 0.00001,  # 2 M requests; 2 M × 0.5 s × 1 GB
    "api": 3 * 1.0,
    "logs": 12 * 0.5 + 12 * 30 / 30 * 0.03,  # ingested; stored = 12 GB × 30 days retention ÷ 30-day month
}
ON_DEMAND = 13368.56
RDS_INSTANCE, CACHE_NODES, FARGATE = 720 * 4.0, 6 * 720 * 1.0, 144.0
EXPECTED_SCENARIOS = {
    "on_demand": ON_DEMAND,
    "reserved_1yr": ON_DEMAND - RDS_INSTANCE * 0.4 - CACHE_NODES * 0.3,
    "fargate_savings_plan": ON_DEMAND - FARGATE * 0.2,
    "fargate_spot": ON_DEMAND - FARGATE * 0.7,
    "optimised": ON_DEMAND - RDS_INSTANCE * 0.4 - CACHE_NODES * 0.3 - FARGATE * 0.2,
}


def test_sizing_is_priced_component_by_component(project: Path) -> None:
    estimate = estimates.estimate("dev")
    assert estimate.by_component() == pytest.approx(EXPECTED_COMPONENTS)
    assert estimate.on_demand == pytest.approx(ON_DEMAND)
    assert estimate.basis == "environments/dev/aws.tfvars"


def test_scenarios_discount_only_what_the_commitment_covers(project: Path) -> None:
    estimate = estimates.estimate("dev")
    totals = {scenario.name: estimate.total(scenario) for scenario in model.SCENARIOS}
    assert totals == pytest.approx(EXPECTED_SCENARIOS)


def test_single_az_database_and_single_nat_use_their_own_prices(project: Path) -> None:
    tfvars = project / "environments" / "dev" / "aws.tfvars"
    text = tfvars.read_text().replace("rds_multi_az                  = true", "rds_multi_az = false")
    tfvars.write_text(text.replace("single_nat_gateway            = false", "single_nat_gateway = true"))
    components = estimates.estimate("dev").by_component()
    assert components["database"] == pytest.approx(720 * 2.0 + 100 * 0.1)
    assert components["network"] == pytest.approx(EXPECTED_COMPONENTS["network"] - 2 * 720 * (0.5 + 0.01))


def test_arm_functions_use_the_arm_duration_price(project: Path) -> None:
    plan = same_stack_as_plan()
    for change in plan["resource_changes"]:
        if change["type"] == "aws_lambda_function":
            change["change"]["after"]["architectures"] = ["arm64"]
    functions = estimates.estimate("dev", plan).by_component()["functions"]
    assert functions == pytest.approx(2 * 0.2 + 2_000_000 * 0.5 * 1 * 0.000008)


def test_logs_that_never_expire_are_priced_after_a_year(round_table: prices.PriceTable, project: Path) -> None:
    assumptions = cost_assumptions.load_assumptions(project / "environments" / "dev" / "cost-assumptions.toml")
    stored = [u for u in usage.logs(0, assumptions) if u.price_key == "cloudwatch.logs.storage_gb_month"]
    assert stored[0].quantity == pytest.approx(12 * 365 / 30)
    assert "never expire" in stored[0].item


def test_a_size_missing_from_the_price_table_names_the_key(project: Path) -> None:
    tfvars = project / "environments" / "dev" / "aws.tfvars"
    tfvars.write_text(tfvars.read_text().replace('"cache.r6g.large"', '"cache.r7g.large"'))
    with pytest.raises(RunbookError) as raised:
        estimates.estimate("dev")
    assert "elasticache.node_hour.cache.r7g.large" in raised.value.why


def test_missing_sizing_variables_are_named(project: Path) -> None:
    tfvars = project / "environments" / "dev" / "aws.tfvars"
    tfvars.write_text("\n".join(line for line in tfvars.read_text().splitlines() if "fargate_cpu" not in line))
    with pytest.raises(RunbookError) as raised:
        estimates.estimate("dev")
    assert "fargate_cpu" in raised.value.why


def test_assumptions_must_be_complete_known_and_valid(project: Path) -> None:
    path = project / "environments" / "dev" / "cost-assumptions.toml"
    text = path.read_text().replace("data_lake_gb = 1000", "data_lake_gib = 1000").replace('"http"', '"grpc"')
    path.write_text(text.replace("ingested_gb = 12", "ingested_gb = -1"))
    with pytest.raises(RunbookError) as raised:
        cost_assumptions.load_assumptions(path)
    details = raised.value.details
    assert "[storage] data_lake_gb is missing" in details
    assert "[storage] data_lake_gib is not an assumption" in details
    assert "[api] kind must be one of http, rest" in details
    assert "[logs] ingested_gb must be a number ≥ 0" in details


def test_missing_assumptions_file_says_where_to_start(project: Path) -> None:
    (project / "environments" / "dev" / "cost-assumptions.toml").unlink()
    with pytest.raises(RunbookError) as raised:
        estimates.estimate("dev")
    assert "cost-assumptions.toml" in raised.value.fix


def _change(address: str, kind: str, after: dict[str, Any] | None, before: dict[str, Any] | None = None) -> dict:
    actions = ["create"] if before is None else (["delete"] if after is None else ["no-op"])
    return {
        "address": address,
        "mode": "managed",
        "type": kind,
        "change": {"actions": actions, "before": before, "after": after},
    }


def same_stack_as_plan() -> dict[str, Any]:
    """The show-json of a plan creating what SIZING_TFVARS describes, plus the shape tfvars does not hold."""
    nat = {"allocation_id": "eipalloc-1"}
    changes = [_change(f"aws_nat_gateway.this[{i}]", "aws_nat_gateway", nat) for i in range(3)]
    changes += [
        _change("aws_lb.api", "aws_lb", {"load_balancer_type": "application"}),
        _change("aws_lb.oms", "aws_lb", {"load_balancer_type": "network"}),
        _change(
            "aws_vpc_endpoint.ecr",
            "aws_vpc_endpoint",
            {"vpc_endpoint_type": "Interface", "subnet_ids": ["a", "b", "c"]},
        ),
        _change("aws_vpc_endpoint.s3", "aws_vpc_endpoint", {"vpc_endpoint_type": "Gateway"}),
        _change(
            "aws_msk_cluster.this",
            "aws_msk_cluster",
            {
                "number_of_broker_nodes": 3,
                "broker_node_group_info": [
                    {"instance_type": "kafka.m5.large", "storage_info": [{"ebs_storage_info": [{"volume_size": 100}]}]}
                ],
            },
        ),
        _change(
            "aws_elasticache_replication_group.this",
            "aws_elasticache_replication_group",
            {"node_type": "cache.r6g.large", "num_node_groups": 3, "replicas_per_node_group": 1},
        ),
        _change(
            "aws_db_instance.this",
            "aws_db_instance",
            {"engine": "postgres", "instance_class": "db.r6g.xlarge", "multi_az": True, "allocated_storage": 100},
        ),
        _change(
            "aws_ecs_task_definition.ingest",
            "aws_ecs_task_definition",
            {"family": "aipx-dev-data-ingestion", "cpu": "1024", "memory": "2048"},
        ),
        _change(
            "aws_ecs_task_definition.oms",
            "aws_ecs_task_definition",
            {"family": "aipx-dev-oms", "cpu": "1024", "memory": "2048"},
        ),
        _change("aws_ecs_service.ingest", "aws_ecs_service", {"name": "data-ingestion", "desired_count": 2}),
        _change(
            "aws_ecs_service.oms",
            "aws_ecs_service",
            {
                "name": "oms",
                "desired_count": 2,
                "task_definition": "arn:aws:ecs:ap-northeast-2:1:task-definition/aipx-dev-oms:3",
            },
        ),
        _change(
            "aws_lambda_function.worker",
            "aws_lambda_function",
            {"function_name": "w", "memory_size": 1024, "architectures": ["x86_64"]},
        ),
        _change("aws_lambda_function.recorder", "aws_lambda_function", {"function_name": "r", "memory_size": 1024}),
        _change("aws_apigatewayv2_api.cognitive", "aws_apigatewayv2_api", {"protocol_type": "HTTP"}),
        _change("aws_s3_bucket.lake", "aws_s3_bucket", {"bucket": "aipx-dev-data-lake"}),
        _change("aws_cloudwatch_log_group.ecs", "aws_cloudwatch_log_group", {"retention_in_days": 30}),
        _change("data.aws_caller_identity.me", "aws_caller_identity", {"account_id": "1"}) | {"mode": "data"},
    ]
    return {"format_version": "1.2", "resource_changes": changes}


def test_a_plan_of_the_same_stack_costs_the_same_as_its_sizing(project: Path) -> None:
    planned = estimates.estimate("dev", same_stack_as_plan())
    assert planned.by_component() == pytest.approx(EXPECTED_COMPONENTS)
    assert planned.basis == "saved plan, planned state"
    assert planned.unpriced == []


def test_the_current_state_is_what_exists_before_the_plan(project: Path) -> None:
    plan = same_stack_as_plan()
    database = next(c for c in plan["resource_changes"] if c["type"] == "aws_db_instance")
    database["change"]["before"] = copy.deepcopy(database["change"]["after"])
    nat = plan["resource_changes"][0]
    nat["change"]["before"], nat["change"]["after"] = nat["change"]["after"], None  # being destroyed
    current = estimates.estimate("dev", plan, "before")
    planned = estimates.estimate("dev", plan, "after")
    assert current.on_demand == pytest.approx(EXPECTED_COMPONENTS["database"] + 720 * (0.5 + 0.01) + 10 * 0.1)
    assert planned.by_component()["network"] == pytest.approx(EXPECTED_COMPONENTS["network"] - 720 * (0.5 + 0.01))


def test_what_a_plan_cannot_price_is_listed_not_dropped(project: Path) -> None:
    plan = same_stack_as_plan()
    plan["resource_changes"] = [c for c in plan["resource_changes"] if c["address"] != "aws_ecs_task_definition.oms"]
    endpoint = next(c for c in plan["resource_changes"] if c["address"] == "aws_vpc_endpoint.ecr")
    del endpoint["change"]["after"]["subnet_ids"]
    planned = estimates.estimate("dev", plan)
    assert any("aws_ecs_service.oms" in item for item in planned.unpriced)
    assert any("aws_vpc_endpoint.ecr" in item and "one AZ" in item for item in planned.unpriced)
    assert planned.by_component()["compute"] == pytest.approx(EXPECTED_COMPONENTS["compute"] / 2)


def test_fargate_spot_in_a_plan_is_recognised(project: Path) -> None:
    plan = same_stack_as_plan()
    service = next(c for c in plan["resource_changes"] if c["address"] == "aws_ecs_service.oms")
    service["change"]["after"]["capacity_provider_strategy"] = [{"capacity_provider": "FARGATE_SPOT", "weight": 1}]
    planned = estimates.estimate("dev", plan)
    assert planned.fargate_spot_configured
    assert "already asks for Fargate Spot" in seed_comparison.explain(planned, model.SCENARIOS_BY_NAME["fargate_spot"])


@pytest.mark.parametrize(
    ("environment", "monthly", "expected"),
    [
        ("dev", 250, "$50 below"),
        ("dev", 350, "within"),
        ("production", 2000, "$200 above"),
        ("staging", 900, "the seed gives no figure"),
    ],
)
def test_position_against_the_seeds_range(environment: str, monthly: float, expected: str) -> None:
    assert seed_comparison.versus_seed(environment, monthly) == expected


def test_explanation_names_the_gap_the_drivers_and_the_sizing_differences(project: Path) -> None:
    estimate = estimates.estimate("dev")
    text = seed_comparison.explain(estimate, model.SCENARIOS_BY_NAME["reserved_1yr"])
    assert text.startswith(f"${EXPECTED_SCENARIOS['reserved_1yr']:,.0f} is ")
    assert "above the seed's ~$300-400/month" in text
    assert "rds 40% off $2,880 (the seed quotes 40-60% for Reserved Instances)" in text
    # the seed's best rate, 60%, on the instance (2,880) and the nodes (4,320)
    assert f"at the seed's best rates (rds 60%, elasticache 60%) it would be ${ON_DEMAND - 0.6 * 7200:,.0f}" in text
    assert "largest on-demand items: streaming $4,350, cache $4,320, database $2,900" in text
    assert "kafka_broker_count 3 (seed: 1)" in text and "redis_nodes 6 (seed: 1)" in text
    # The seed's dev sizing with the same assumptions: 1 t3.small broker (360 + 100 GB × 0.1), 1 t3.micro node (180),
    # a Single-AZ db.t3.micro (360 + 100 GB × 0.1), 4 tasks of 0.25 vCPU and 0.5 GB (28.8 + 7.2); the rest unchanged;
    # then 40% off the instance and 30% off the node.
    seed_on_demand = EXPECTED_COMPONENTS["network"] + 370 + 180 + 370 + 36 + 10.4 + 3 + 20 + 6.36
    assert f"the seed's sizing priced the same way comes to ${seed_on_demand - 360 * 0.4 - 180 * 0.3:,.0f}" in text


def test_json_is_keyed_by_environment_with_every_scenario(project: Path) -> None:
    document = cost_report.to_json([estimates.estimate("dev")])
    dev = document["dev"]
    assert dev["on_demand_monthly_usd"] == pytest.approx(ON_DEMAND)
    assert dev["price_table_date"] == "2026-01-02"
    assert {name: entry["monthly_usd"] for name, entry in dev["scenarios"].items()} == pytest.approx(EXPECTED_SCENARIOS)
    assert dev["scenarios"]["on_demand"]["seed_range_usd"] == [300, 400]
    assert sum(item["monthly_usd"] for item in dev["line_items"]) == pytest.approx(ON_DEMAND)


def test_report_prints_the_table_date_and_the_assumptions_and_charts_components(project: Path) -> None:
    shown = cost_report.report([estimates.estimate("dev")])
    text = str(shown)
    assert "dated 2026-01-02" in text
    assert "environments/dev/cost-assumptions.toml" in text
    assert "Not in the estimate" in text
    assert shown.figures and shown.figures[0].startswith('<img alt="cost per component')


def test_plan_report_shows_the_change_from_the_current_state(project: Path) -> None:
    shown = cost_report.plan_report("dev", same_stack_as_plan())
    assert shown.facts == {"planned_monthly_usd": pytest.approx(ON_DEMAND), "current_monthly_usd": 0}
    change = shown.tables[0]
    assert change.rows[-1] == ["total", "0.00", f"{ON_DEMAND:,.2f}", f"+{ON_DEMAND:,.2f}"]


def test_the_shipped_table_prices_the_seeds_sizing() -> None:
    table = prices.load()
    for seed in seed_comparison.SEED.values():
        sizing = seed.sizing
        deployment = "multi_az" if sizing["rds_multi_az"] else "single_az"
        for key in (
            f"msk.broker_hour.{sizing['kafka_instance_type']}",
            f"elasticache.node_hour.{sizing['redis_node_type']}",
            f"rds.postgresql.{deployment}.{sizing['rds_instance_class']}",
        ):
            assert table.get(key).value > 0


@pytest.mark.parametrize("environment", ["dev", "staging", "production"])
def test_each_environment_of_the_checkout_is_estimated(environment: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIPX_PROJECT_ROOT", str(PROJECT_ROOT))
    settings = config.load_environment(environment)
    estimate = estimates.estimate(environment)
    assert estimate.table.region == settings.region
    sizing = cost_sizing.read_sizing(settings.tfvars)
    brokers = [line for line in estimate.lines if line.price.key.startswith("msk.broker_hour.")]
    assert brokers[0].usage.quantity == sizing["kafka_broker_count"] * estimate.assumptions.hours_per_month
    assert all(line.monthly_usd >= 0 for line in estimate.lines)
    assert estimate.total(model.SCENARIOS_BY_NAME["optimised"]) < estimate.on_demand


def test_cli_prints_a_json_object_keyed_by_environment(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["cost", "--env", "all", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert list(document) == ["dev"]
    assert document["dev"]["on_demand_monthly_usd"] == pytest.approx(ON_DEMAND)
    assert set(document["dev"]["scenarios"]) == set(EXPECTED_SCENARIOS)


def test_cli_estimates_a_saved_plan_of_one_environment(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(same_stack_as_plan()))
    assert cli.main(["cost", "--env", "dev", "--plan-json", str(path)]) == 0
    printed = capsys.readouterr().out
    assert "dev: sizing from saved plan, planned state" in printed
    assert f"dev ${ON_DEMAND:,.0f}/month on demand (prices dated 2026-01-02)" in printed
    assert cli.main(["cost", "--env", "all", "--plan-json", str(path)]) == 2
    assert cli.main(["cost", "--env", "qa"]) == 2


def test_a_saved_plan_is_priced_once_until_its_prices_or_assumptions_change(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan stage's record and its cost report share one estimate per plan SHA-256; an edit prices again."""
    priced_states = []
    usage_from_plan = estimates.usage_from_plan
    monkeypatch.setattr(
        estimates,
        "usage_from_plan",
        lambda plan, state, a: priced_states.append(state) or usage_from_plan(plan, state, a),
    )
    plan = same_stack_as_plan()
    first = estimates.of_plan("dev", plan, "sha-of-the-saved-plan")
    assert sorted(priced_states) == ["after", "before"]
    assert estimates.of_plan("dev", plan, "sha-of-the-saved-plan") is first
    assert cost_report.plan_report("dev", plan, sha256="sha-of-the-saved-plan").facts["planned_monthly_usd"] == (
        pytest.approx(ON_DEMAND)
    )
    assert len(priced_states) == 2, "the report reused the estimate the record made"

    estimates.of_plan("dev", plan)  # no SHA-256 (the CLI's --plan-json): priced, not remembered
    assert len(priced_states) == 4
    assumptions = project / "environments" / "dev" / "cost-assumptions.toml"
    assumptions.write_text(assumptions.read_text().replace("hours_per_month = 720", "hours_per_month = 730"))
    again = estimates.of_plan("dev", plan, "sha-of-the-saved-plan")
    assert len(priced_states) == 6 and again is not first
    assert again.planned.assumptions.hours_per_month == 730


def test_the_plan_a_run_saved_is_priced_and_a_missing_one_is_named(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, terraform_bin: str
) -> None:
    target = AwsTarget("local", "ap-northeast-2", "http://127.0.0.1:9")
    ctx = StageContext("plan", config.load_environment("dev"), target, "aipx", project / "terraform", tmp_path)
    with pytest.raises(RunbookError) as raised:
        cost_report.saved_plan_report(ctx)
    assert raised.value.what == "find the saved plan"
    shown_files = []
    monkeypatch.setattr(plans, "load", lambda ctx, name: SimpleNamespace(sha256="a saved plan's hash"))
    monkeypatch.setattr(
        terraform.TerraformRunner, "show_plan", lambda self, path: shown_files.append(path) or same_stack_as_plan()
    )
    assert cost_report.saved_plan_report(ctx).facts["planned_monthly_usd"] == pytest.approx(ON_DEMAND)
    assert shown_files == [plans.plan_path(ctx, plans.PLAN)]


def test_a_plan_without_priced_resources_says_so(project: Path) -> None:
    marker = _change("terraform_data.marker", "terraform_data", {})
    shown = cost_report.plan_report("dev", {"resource_changes": [marker]})
    assert shown.facts == {"planned_monthly_usd": 0, "current_monthly_usd": 0}
    assert any("none of the priced resources" in note for note in shown.notes)
