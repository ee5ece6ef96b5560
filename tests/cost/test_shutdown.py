"""Dev auto-shutdown: pause and resume the ECS services of an environment on a real moto server."""

from __future__ import annotations

from typing import Any

import pytest

from aipx_runbook import cli, shutdown
from aipx_runbook.aws import AwsTarget
from aipx_runbook.errors import RunbookError

pytestmark = pytest.mark.usefixtures("workspace")


def ecs_with_services(target: AwsTarget, cluster: str = "aipx-dev", **counts: int) -> Any:
    ecs = target.client("ecs")
    ecs.create_cluster(clusterName=cluster)
    ecs.register_task_definition(
        family="app",
        containerDefinitions=[{"name": "app", "image": "app"}],
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        networkMode="awsvpc",
    )
    for name, count in counts.items():
        ecs.create_service(cluster=cluster, serviceName=name, taskDefinition="app", desiredCount=count)
    return ecs


def desired(ecs: Any) -> dict[str, int]:
    arns = ecs.list_services(cluster="aipx-dev")["serviceArns"]
    return {
        s["serviceName"]: s["desiredCount"]
        for s in ecs.describe_services(cluster="aipx-dev", services=arns)["services"]
    }


def recorded(ecs: Any) -> dict[str, str]:
    found = {}
    for arn in ecs.list_services(cluster="aipx-dev")["serviceArns"]:
        tags = {t["key"]: t["value"] for t in ecs.list_tags_for_resource(resourceArn=arn)["tags"]}
        if shutdown.PAUSED_TAG in tags:
            found[arn.rsplit("/", 1)[-1]] = tags[shutdown.PAUSED_TAG]
    return found


@pytest.mark.integration
@pytest.mark.usefixtures("reset_emulator")
def test_pause_records_the_counts_and_resume_restores_them(emulator_target: AwsTarget) -> None:
    ecs = ecs_with_services(emulator_target, **{"data-ingestion": 2, "oms": 1, "idle": 0})

    paused = shutdown.pause_services(emulator_target, "dev")
    assert paused.status == "changed"
    assert desired(ecs) == {"data-ingestion": 0, "oms": 0, "idle": 0}
    assert recorded(ecs) == {"data-ingestion": "2", "oms": "1"}
    assert {row[0]: row[4] for row in paused.tables[0].rows}["idle"] == "already at 0; nothing to restore"

    again = shutdown.pause_services(emulator_target, "dev")
    assert again.status == "ok"
    assert recorded(ecs) == {"data-ingestion": "2", "oms": "1"}

    resumed = shutdown.resume_services(emulator_target, "dev")
    assert resumed.status == "changed"
    assert desired(ecs) == {"data-ingestion": 2, "oms": 1, "idle": 0}
    assert recorded(ecs) == {}

    assert shutdown.resume_services(emulator_target, "dev").status == "ok"
    assert desired(ecs) == {"data-ingestion": 2, "oms": 1, "idle": 0}


@pytest.mark.integration
@pytest.mark.usefixtures("reset_emulator")
def test_a_service_scaled_up_while_paused_is_paused_again_keeping_its_record(emulator_target: AwsTarget) -> None:
    ecs = ecs_with_services(emulator_target, oms=3)
    shutdown.pause_services(emulator_target, "dev")
    ecs.update_service(cluster="aipx-dev", service="oms", desiredCount=1)
    shutdown.pause_services(emulator_target, "dev")
    assert desired(ecs) == {"oms": 0}
    shutdown.resume_services(emulator_target, "dev")
    assert desired(ecs) == {"oms": 3}


@pytest.mark.parametrize("pause_or_resume", [shutdown.pause_services, shutdown.resume_services])
def test_production_is_refused_before_anything_is_called(pause_or_resume: Any) -> None:
    unreachable = AwsTarget("local", "ap-northeast-2", "http://127.0.0.1:9")
    with pytest.raises(RunbookError) as raised:
        pause_or_resume(unreachable, "production")
    assert "production" in raised.value.what and "hot path" in raised.value.why


@pytest.mark.integration
@pytest.mark.usefixtures("reset_emulator")
def test_a_missing_cluster_says_to_apply_first(emulator_target: AwsTarget) -> None:
    with pytest.raises(RunbookError) as raised:
        shutdown.pause_services(emulator_target, "staging")
    assert "aipx-staging" in raised.value.what
    assert "apply the stack" in raised.value.fix


@pytest.mark.integration
@pytest.mark.usefixtures("reset_emulator")
def test_a_damaged_record_stops_resume(emulator_target: AwsTarget) -> None:
    ecs = ecs_with_services(emulator_target, oms=1)
    arn = ecs.list_services(cluster="aipx-dev")["serviceArns"][0]
    ecs.tag_resource(resourceArn=arn, tags=[{"key": shutdown.PAUSED_TAG, "value": "two"}])
    with pytest.raises(RunbookError) as raised:
        shutdown.resume_services(emulator_target, "dev")
    assert "'two'" in raised.value.why
    assert desired(ecs) == {"oms": 1}


@pytest.mark.integration
@pytest.mark.usefixtures("reset_emulator")
def test_cli_pauses_and_resumes_dev_and_refuses_production(
    emulator_target: AwsTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    ecs = ecs_with_services(emulator_target, oms=2)
    assert cli.main(["pause", "--env", "dev"]) == 0
    assert desired(ecs) == {"oms": 0}
    assert cli.main(["resume", "--env", "dev"]) == 0
    assert desired(ecs) == {"oms": 2}
    assert cli.main(["pause", "--env", "production"]) == 1
    assert "FAILED  pause the production ECS services" in capsys.readouterr().err
