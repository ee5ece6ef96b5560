"""Each output checked against the live AWS API: PASS, FAIL or SKIP, always with the reason.

Every stack gets the state checks (the state object exists under the environment's key, no lock is held).
The AIPX stack's outputs are then checked against the resources they name, by component: verify_network.py,
verify_data.py, verify_compute.py. Values of sensitive outputs are compared, never shown. Where the local
emulator cannot answer truthfully (moto implements no MSK GetBootstrapBrokers, keeps MSK clusters in CREATING,
starts no containers), the check says so and SKIPs. stages/verify.py shows the checks as the stage's report.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from . import aws_errors, contract, state
from . import verify_compute as compute
from . import verify_data as data
from . import verify_network as network
from .errors import RunbookError
from .verify_probe import FAIL, PASS, SKIP, Check, Expectations, Probe, Result

if TYPE_CHECKING:
    from .context import StageContext

__all__ = ["FAIL", "PASS", "SKIP", "Check", "Expectations", "run"]

# (check, the outputs it needs, the check): in the order the report shows them.
OUTPUT_CHECKS: tuple[tuple[str, tuple[str, ...], Callable[[Probe], Result]], ...] = (
    ("VPC", ("vpc_id",), network.vpc),
    ("public subnets", ("vpc_id", "public_subnets"), lambda probe: network.subnets(probe, "public_subnets")),
    ("private subnets", ("vpc_id", "private_subnets"), lambda probe: network.subnets(probe, "private_subnets")),
    ("MSK cluster", ("kafka_cluster_arn",), data.msk_cluster),
    ("MSK bootstrap brokers", ("kafka_cluster_arn", "kafka_bootstrap_brokers"), data.msk_brokers),
    ("Redis replication group", ("redis_replication_group_id",), data.redis_group),
    ("Redis endpoint", ("redis_replication_group_id", "redis_endpoint"), data.redis_endpoint),
    ("RDS instance", ("database_instance_identifier",), data.rds_instance),
    ("RDS Multi-AZ", ("database_instance_identifier",), data.rds_multi_az),
    ("RDS endpoint", ("database_instance_identifier", "database_endpoint"), data.rds_endpoint),
    ("RDS master user secret", ("database_master_user_secret_arn",), data.rds_secret),
    ("data lake bucket", ("data_lake_bucket",), data.data_lake),
    ("ECS cluster", ("ecs_cluster_name",), compute.ecs_cluster),
    ("OMS in service discovery", ("oms_grpc_endpoint", "oms_service_discovery_namespace"), compute.oms_discovery),
    ("cognitive API", ("cognitive_api_url",), compute.cognitive_api),
)


def run(
    ctx: StageContext, outputs: dict[str, Any], emulated: bool, excluded: list[str] | tuple[str, ...] = ()
) -> list[Check]:
    """The state checks, then (for every stack but smoke) the output checks."""
    probe = Probe(ctx, outputs, Expectations.of(ctx.settings), emulated)
    checks = [_guard(probe, "state object", "", state_object), _guard(probe, "state lock", "", no_lock)]
    if ctx.stack != "smoke":
        checks += output_checks(probe, require_contract=ctx.stack == "aipx", excluded=excluded)
    return checks


def output_checks(probe: Probe, require_contract: bool, excluded: list[str] | tuple[str, ...] = ()) -> list[Check]:
    """``excluded``: what the applied plan left out (stage 03's ``exclude``): outputs missing because of it
    are SKIPped with that reason instead of failing."""
    outputs = probe.outputs
    checks: list[Check] = []
    missing = [name for name in contract.OUTPUTS if name not in outputs]
    left_out = f"not in the state: the applied plan left out {', '.join(excluded)} (exclude) and what depends on them"
    if require_contract and missing:
        status, reason = (SKIP, left_out) if excluded else (FAIL, "missing from the state")
        checks.append(Check("outputs the runbook relies on", ", ".join(missing), status, reason))
    for name, needs, check in OUTPUT_CHECKS:
        if all(n in outputs for n in needs):
            checks.append(_guard(probe, name, ", ".join(needs), check))
        elif excluded:
            absent = ", ".join(n for n in needs if n not in outputs)
            checks.append(Check(name, ", ".join(needs), SKIP, f"{absent} {left_out}"))
    if "ecs_cluster_name" in outputs and "ecs_service_names" in outputs:
        for service in dict.fromkeys([*contract.ECS_SERVICES, *outputs["ecs_service_names"]]):
            checks.append(
                _guard(
                    probe, f"ECS service {service}", "ecs_service_names", lambda p, s=service: compute.ecs_service(p, s)
                )
            )
    return checks


def _guard(probe: Probe, name: str, outputs: str, check: Callable[[Probe], Result]) -> Check:
    try:
        status, reason = check(probe)
    except ClientError as error:
        return Check(name, outputs, FAIL, f"AWS answered {aws_errors.answered(error)}")
    except BotoCoreError as error:
        return Check(name, outputs, FAIL, f"AWS could not be asked: {error}")
    return Check(name, outputs, status, reason)


def state_object(probe: Probe) -> Result:
    key = probe.settings.state_key
    try:
        probe.target.client("s3").head_object(Bucket=probe.settings.state_bucket, Key=key)
    except ClientError as error:
        if aws_errors.code(error) in ("404", "NoSuchKey", "NotFound"):
            return FAIL, f"no object s3://{probe.settings.state_bucket}/{key}: nothing was applied"
        raise
    return PASS, f"s3://{probe.settings.state_bucket}/{key} exists"


def no_lock(probe: Probe) -> Result:
    try:
        locks = state.held_locks(probe.ctx)
    except RunbookError as error:
        return FAIL, error.why
    if not locks:
        return PASS, f"no lock held ({probe.settings.locking} locking)"
    return FAIL, "; ".join(lock.describe() for lock in locks) + "; if no Terraform runs, release it in notebook 07"
