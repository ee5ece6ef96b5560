"""Dev auto-shutdown (the seed's cost tip), as the CLI's ``pause`` and ``resume`` show it: ecs_scaling.py scales
the environment's ECS services to zero and back; this module turns what it did into a report."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import ecs_scaling
from .ecs_scaling import PAUSED_TAG, Scaling
from .results import Report, Table

if TYPE_CHECKING:
    from .aws import AwsTarget
    from .context import StageContext

__all__ = ["PAUSED_TAG", "pause", "pause_services", "resume", "resume_services"]


def pause(ctx: StageContext) -> Report:
    return ctx.record(pause_services(ctx.target, ctx.environment))


def resume(ctx: StageContext) -> Report:
    return ctx.record(resume_services(ctx.target, ctx.environment))


def pause_services(target: AwsTarget, environment: str) -> Report:
    """Every service's desired count set to 0, the previous count recorded on the service."""
    return _report(ecs_scaling.pause_services(target, environment))


def resume_services(target: AwsTarget, environment: str) -> Report:
    """The desired counts ``pause`` recorded, restored; services it did not pause are left as they are."""
    return _report(ecs_scaling.resume_services(target, environment))


def _report(scaling: Scaling) -> Report:
    services = scaling.services
    rows = [[s.name, s.before, s.after, "" if s.recorded is None else s.recorded, s.action] for s in services]
    summary = f"{len(services)} service(s) of {scaling.cluster} on the {scaling.where}"
    return Report(
        f"{scaling.action} {scaling.environment} ECS services",
        "changed" if any(s.changed for s in services) else ("ok" if services else "warn"),
        summary if services else f"cluster {scaling.cluster} has no services",
        facts={"cluster": scaling.cluster, "services": {s.name: s.after for s in services}},
        tables=[Table(["service", "desired before", "desired after", "recorded", "action"], rows)],
        notes=list(scaling.notes),
    )
