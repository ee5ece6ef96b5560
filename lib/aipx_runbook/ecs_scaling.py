"""Dev auto-shutdown's AWS side: scale an environment's ECS services to zero and back (shutdown.py reports it).

``pause_services`` records each service's desired count in a tag on the service itself before setting it to 0,
so ``resume_services`` restores it from any machine (an operator's laptop, a scheduled CI job). Production is
refused: its services are the hot path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from . import aws_errors, contract
from .errors import RunbookError

if TYPE_CHECKING:
    from .aws import AwsTarget

PAUSED_TAG = "aipx-runbook:paused-desired-count"
PROTECTED = ("production",)


@dataclass(frozen=True)
class ServiceScaling:
    """One service: its desired count before and after, the count recorded in its tag, what was done."""

    name: str
    before: int
    after: int
    recorded: int | None
    action: str

    @property
    def changed(self) -> bool:
        return self.action.startswith(("paused", "resumed"))


@dataclass
class Scaling:
    action: str  # Pause or Resume
    environment: str
    cluster: str
    where: str  # the target, described
    services: list[ServiceScaling] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


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


def _begin(action: str, target: AwsTarget, environment: str) -> tuple[Any, Scaling, list[dict[str, Any]]]:
    """The ECS client, the empty record of the scaling, and the cluster's services (production is refused)."""
    _refuse_protected(environment, action.lower())
    ecs = target.client("ecs")
    cluster = contract.ecs_cluster_name(environment)
    return ecs, Scaling(action, environment, cluster, target.describe()), _services(ecs, cluster, target)


def pause_services(target: AwsTarget, environment: str) -> Scaling:
    """Set every service's desired count to 0, recording the previous count on the service."""
    ecs, scaling, services = _begin("Pause", target, environment)
    cluster = scaling.cluster
    for service in services:
        name, desired, recorded = service["serviceName"], service["desiredCount"], _recorded(service)
        if recorded is None and desired == 0:
            scaling.services.append(ServiceScaling(name, 0, 0, None, "already at 0; nothing to restore"))
            continue
        if recorded is None:
            _tag(ecs, service["serviceArn"], desired)
            recorded = desired
        if desired:
            ecs.update_service(cluster=cluster, service=name, desiredCount=0)
        scaling.services.append(ServiceScaling(name, desired, 0, recorded, "paused" if desired else "already paused"))
    scaling.notes = [
        f"previous counts are kept in each service's tag {PAUSED_TAG}; `aipx-runbook resume --env {environment}` "
        "restores them",
        "a Terraform apply while paused sets the aws.tfvars counts again and removes the tag: that is a resume too",
    ]
    return scaling


def resume_services(target: AwsTarget, environment: str) -> Scaling:
    """Restore the desired counts ``pause_services`` recorded; services it did not pause are left as they are."""
    ecs, scaling, services = _begin("Resume", target, environment)
    cluster = scaling.cluster
    for service in services:
        name, desired, recorded = service["serviceName"], service["desiredCount"], _recorded(service)
        if recorded is None:
            scaling.services.append(
                ServiceScaling(name, desired, desired, None, "not paused by the runbook; left as it is")
            )
            continue
        ecs.update_service(cluster=cluster, service=name, desiredCount=recorded)
        ecs.untag_resource(resourceArn=service["serviceArn"], tagKeys=[PAUSED_TAG])
        scaling.services.append(ServiceScaling(name, desired, recorded, recorded, f"resumed to {recorded}"))
    return scaling


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
