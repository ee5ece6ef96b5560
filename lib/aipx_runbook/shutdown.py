"""Dev auto-shutdown (the seed's cost tip): scale an environment's ECS services to zero and back.

``pause`` records each service's desired count in a tag on the service itself before setting it to 0,
so ``resume`` restores it from any machine (an operator's laptop, a scheduled CI job). Production is
refused: its services are the hot path.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from . import aws_errors, contract
from .aws import AwsTarget
from .context import StageContext
from .errors import RunbookError
from .results import Report, Table

PAUSED_TAG = "aipx-runbook:paused-desired-count"
PROTECTED = ("production",)


def pause(ctx: StageContext) -> Report:
    return ctx.record(pause_services(ctx.target, ctx.environment))


def resume(ctx: StageContext) -> Report:
    return ctx.record(resume_services(ctx.target, ctx.environment))


def _refuse_protected(environment: str, action: str) -> None:
    if environment in PROTECTED:
        raise RunbookError(
            f"{action} the {environment} ECS services",
            f"{environment} runs the hot path (data ingestion, OMS); a cost tip must not scale it to zero",
            f"change {environment}'s desired counts in its aws.tfvars through a reviewed plan; "
            "pause and resume are for dev (and staging)",
        )


def _services(ecs: Any, cluster: str, target: AwsTarget) -> list[dict[str, Any]]:
    try:
        arns = [
            arn for page in ecs.get_paginator("list_services").paginate(cluster=cluster) for arn in page["serviceArns"]
        ]
        found = []
        for start in range(0, len(arns), 10):
            found += ecs.describe_services(cluster=cluster, services=arns[start : start + 10], include=["TAGS"])[
                "services"
            ]
    except ClientError as error:
        if aws_errors.code(error) == "ClusterNotFoundException":
            raise RunbookError(
                f"find the services of ECS cluster {cluster}",
                f"the cluster does not exist on the {target.describe()}",
                "apply the stack for this environment first (notebook 04), or check --env and --target",
            ) from error
        raise
    return sorted(found, key=lambda service: service["serviceName"])


def _recorded(service: dict[str, Any]) -> int | None:
    value = {tag["key"]: tag["value"] for tag in service.get("tags", [])}.get(PAUSED_TAG)
    if value is None:
        return None
    if not value.isdigit():
        raise RunbookError(
            f"read the paused count of {service['serviceName']}",
            f"its tag {PAUSED_TAG} holds {value!r}, not a count",
            f"set the service's desired count by hand, then remove the tag {PAUSED_TAG}",
        )
    return int(value)


def _report(action: str, environment: str, target: AwsTarget, rows: list[list[Any]], notes: list[str]) -> Report:
    changed = any(row[4].startswith(("paused", "resumed")) for row in rows)
    cluster = contract.ecs_cluster_name(environment)
    summary = f"{len(rows)} service(s) of {cluster} on the {target.describe()}"
    return Report(
        f"{action} {environment} ECS services",
        "changed" if changed else ("ok" if rows else "warn"),
        summary if rows else f"cluster {cluster} has no services",
        facts={"cluster": cluster, "services": {row[0]: row[2] for row in rows}},
        tables=[Table(["service", "desired before", "desired after", "recorded", "action"], rows)],
        notes=notes,
    )


def pause_services(target: AwsTarget, environment: str) -> Report:
    """Set every service's desired count to 0, recording the previous count on the service."""
    _refuse_protected(environment, "pause")
    ecs = target.client("ecs")
    cluster = contract.ecs_cluster_name(environment)
    rows = []
    for service in _services(ecs, cluster, target):
        name, desired, recorded = service["serviceName"], service["desiredCount"], _recorded(service)
        if recorded is None and desired == 0:
            rows.append([name, 0, 0, "", "already at 0; nothing to restore"])
            continue
        if recorded is None:
            _tag(ecs, service["serviceArn"], desired)
            recorded = desired
        if desired:
            ecs.update_service(cluster=cluster, service=name, desiredCount=0)
        action = "paused" if desired else "already paused"
        rows.append([name, desired, 0, recorded, action])
    notes = [
        f"previous counts are kept in each service's tag {PAUSED_TAG}; `aipx-runbook resume --env {environment}` "
        "restores them",
        "a Terraform apply while paused sets the aws.tfvars counts again and removes the tag: that is a resume too",
    ]
    return _report("Pause", environment, target, rows, notes)


def resume_services(target: AwsTarget, environment: str) -> Report:
    """Restore the desired counts ``pause`` recorded; services it did not pause are left as they are."""
    _refuse_protected(environment, "resume")
    ecs = target.client("ecs")
    cluster = contract.ecs_cluster_name(environment)
    rows = []
    for service in _services(ecs, cluster, target):
        name, desired, recorded = service["serviceName"], service["desiredCount"], _recorded(service)
        if recorded is None:
            rows.append([name, desired, desired, "", "not paused by the runbook; left as it is"])
            continue
        ecs.update_service(cluster=cluster, service=name, desiredCount=recorded)
        ecs.untag_resource(resourceArn=service["serviceArn"], tagKeys=[PAUSED_TAG])
        rows.append([name, desired, recorded, recorded, f"resumed to {recorded}"])
    return _report("Resume", environment, target, rows, [])


def _tag(ecs: Any, arn: str, count: int) -> None:
    try:
        ecs.tag_resource(resourceArn=arn, tags=[{"key": PAUSED_TAG, "value": str(count)}])
    except ClientError as error:
        if aws_errors.code(error) == "InvalidParameterException":
            raise RunbookError(
                f"record the desired count of {arn}",
                f"the service cannot be tagged: {aws_errors.message(error)}",
                "enable the long ARN format (`aws ecs put-account-setting --name serviceLongArnFormat --value "
                "enabled`) and recreate the service, or scale it by hand",
            ) from error
        raise
