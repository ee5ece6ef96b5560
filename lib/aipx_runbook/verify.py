"""Each output checked against the live AWS API: PASS, FAIL or SKIP, always with the reason.

Every stack gets the state checks (the state object exists under the environment's key, no lock is held).
The AIPX stack's outputs are then checked against the resources they name. Values of sensitive outputs are
compared, never shown. Where the local emulator cannot answer truthfully (moto implements no MSK
GetBootstrapBrokers, keeps MSK clusters in CREATING, starts no containers), the check says so and SKIPs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from botocore.exceptions import BotoCoreError, ClientError

from . import aws_errors, config, contract, state
from .config import EnvironmentSettings
from .context import StageContext
from .errors import RunbookError
from .results import Report, Table
from .state_bucket import PUBLIC_ACCESS_BLOCK

PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"
EMULATOR = "the local emulator (moto)"
NOT_IMPLEMENTED_STATUS = (500, 501)


@dataclass(frozen=True)
class Check:
    name: str
    outputs: str
    status: str
    reason: str


@dataclass(frozen=True)
class Expectations:
    """What environments/<env>/aws.tfvars says the environment must look like (None: not declared there)."""

    availability_zone_count: int | None = None
    multi_az: bool | None = None

    @classmethod
    def of(cls, settings: EnvironmentSettings) -> Expectations:
        if not settings.tfvars.exists():
            return cls()
        values = config.read_tfvars(settings.tfvars)
        count = values.get("availability_zone_count")
        multi_az = values.get("rds_multi_az")
        return cls(int(count) if count is not None else None, bool(multi_az) if multi_az is not None else None)


class Verifier:
    def __init__(self, ctx: StageContext, outputs: dict[str, Any], expectations: Expectations, emulated: bool) -> None:
        self.ctx = ctx
        self.target = ctx.target
        self.settings = ctx.settings
        self.outputs = outputs
        self.expectations = expectations
        self.emulated = emulated

    # ---- running the checks --------------------------------------------------------------------------------

    def state_checks(self) -> list[Check]:
        return [self._guard("state object", "", self.state_object), self._guard("state lock", "", self.no_lock)]

    def output_checks(self, require_contract: bool, excluded: list[str] | tuple[str, ...] = ()) -> list[Check]:
        """``excluded``: what the applied plan left out (stage 03's ``exclude``): outputs missing because of it
        are SKIPped with that reason instead of failing."""
        checks: list[Check] = []
        missing = [name for name in contract.OUTPUTS if name not in self.outputs]
        left_out = (
            f"not in the state: the applied plan left out {', '.join(excluded)} (exclude) and what depends on them"
        )
        if require_contract and missing:
            status, reason = (SKIP, left_out) if excluded else (FAIL, "missing from the state")
            checks.append(Check("outputs the runbook relies on", ", ".join(missing), status, reason))
        planned: list[tuple[str, tuple[str, ...], Callable[[], Check]]] = [
            ("VPC", ("vpc_id",), self.vpc),
            ("public subnets", ("vpc_id", "public_subnets"), lambda: self.subnets("public_subnets")),
            ("private subnets", ("vpc_id", "private_subnets"), lambda: self.subnets("private_subnets")),
            ("MSK cluster", ("kafka_cluster_arn",), self.msk_cluster),
            ("MSK bootstrap brokers", ("kafka_cluster_arn", "kafka_bootstrap_brokers"), self.msk_brokers),
            ("Redis replication group", ("redis_replication_group_id",), self.redis_group),
            ("Redis endpoint", ("redis_replication_group_id", "redis_endpoint"), self.redis_endpoint),
            ("RDS instance", ("database_instance_identifier",), self.rds_instance),
            ("RDS Multi-AZ", ("database_instance_identifier",), self.rds_multi_az),
            ("RDS endpoint", ("database_instance_identifier", "database_endpoint"), self.rds_endpoint),
            ("RDS master user secret", ("database_master_user_secret_arn",), self.rds_secret),
            ("data lake bucket", ("data_lake_bucket",), self.data_lake),
            ("ECS cluster", ("ecs_cluster_name",), self.ecs_cluster),
            ("OMS in service discovery", ("oms_grpc_endpoint", "oms_service_discovery_namespace"), self.oms_discovery),
            ("cognitive API", ("cognitive_api_url",), self.cognitive_api),
        ]
        for name, needs, check in planned:
            if all(n in self.outputs for n in needs):
                checks.append(self._guard(name, ", ".join(needs), check))
            elif excluded:
                absent = ", ".join(n for n in needs if n not in self.outputs)
                checks.append(Check(name, ", ".join(needs), SKIP, f"{absent} {left_out}"))
        if "ecs_cluster_name" in self.outputs and "ecs_service_names" in self.outputs:
            names = list(dict.fromkeys([*contract.ECS_SERVICES, *self.outputs["ecs_service_names"]]))
            for service in names:
                checks.append(
                    self._guard(f"ECS service {service}", "ecs_service_names", lambda s=service: self.ecs_service(s))
                )
        return checks

    def _guard(self, name: str, outputs: str, check: Callable[[], Check | tuple[str, str]]) -> Check:
        try:
            result = check()
        except ClientError as error:
            return Check(
                name,
                outputs,
                FAIL,
                f"AWS answered {aws_errors.answered(error)}",
            )
        except BotoCoreError as error:
            return Check(name, outputs, FAIL, f"AWS could not be asked: {error}")
        if isinstance(result, Check):
            return result
        status, reason = result
        return Check(name, outputs, status, reason)

    def _client(self, service: str, attempts: int | None = None) -> Any:
        return self.target.client(service, attempts=attempts)

    def _unanswered(self, error: ClientError, operation: str) -> tuple[str, str] | None:
        """SKIP when the emulator does not implement an operation; None when the error is a real answer."""
        status = aws_errors.http_status(error)
        if self.emulated and (status in NOT_IMPLEMENTED_STATUS or aws_errors.code(error) == "NotImplemented"):
            return SKIP, f"{EMULATOR} does not implement {operation} (it answered HTTP {status}); check on AWS"
        return None

    # ---- state ----------------------------------------------------------------------------------------------

    def state_object(self) -> tuple[str, str]:
        key = self.settings.state_key
        try:
            self.target.client("s3").head_object(Bucket=self.settings.state_bucket, Key=key)
        except ClientError as error:
            if aws_errors.code(error) in ("404", "NoSuchKey", "NotFound"):
                return FAIL, f"no object s3://{self.settings.state_bucket}/{key}: nothing was applied"
            raise
        return PASS, f"s3://{self.settings.state_bucket}/{key} exists"

    def no_lock(self) -> tuple[str, str]:
        try:
            locks = state.held_locks(self.ctx)
        except RunbookError as error:
            return FAIL, error.why
        if not locks:
            return PASS, f"no lock held ({self.settings.locking} locking)"
        return FAIL, "; ".join(lock.describe() for lock in locks) + "; if no Terraform runs, release it in notebook 07"

    # ---- network --------------------------------------------------------------------------------------------

    def vpc(self) -> tuple[str, str]:
        vpc_id = self.outputs["vpc_id"]
        vpcs = self._client("ec2").describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Vpcs"]
        if not vpcs:
            return FAIL, f"no VPC {vpc_id} in {self.target.region}"
        state = vpcs[0].get("State")
        return (PASS, f"{vpc_id} is available") if state == "available" else (FAIL, f"{vpc_id} is {state}")

    def subnets(self, output: str) -> tuple[str, str]:
        ids = list(self.outputs[output])
        vpc_id = self.outputs["vpc_id"]
        if not ids:
            return FAIL, "the output lists no subnet"
        found = self._client("ec2").describe_subnets(Filters=[{"Name": "subnet-id", "Values": ids}])["Subnets"]
        problems = []
        missing = sorted(set(ids) - {s["SubnetId"] for s in found})
        if missing:
            problems.append(f"not found: {', '.join(missing)}")
        outside = sorted(s["SubnetId"] for s in found if s["VpcId"] != vpc_id)
        if outside:
            problems.append(f"not in {vpc_id}: {', '.join(outside)}")
        zones = sorted({s["AvailabilityZone"] for s in found})
        expected = self.expectations.availability_zone_count
        if expected is not None and len(zones) != expected:
            problems.append(f"spread over {len(zones)} AZ(s), the environment expects {expected}")
        declared = self.outputs.get("availability_zones")
        if declared is not None and set(zones) != set(declared):
            problems.append(f"AZs {', '.join(zones)} differ from availability_zones {', '.join(declared)}")
        if problems:
            return FAIL, "; ".join(problems)
        note = "" if expected is not None else " (aws.tfvars declares no availability_zone_count to compare)"
        return PASS, f"{len(ids)} subnet(s) in {vpc_id} over {', '.join(zones)}{note}"

    # ---- streaming ------------------------------------------------------------------------------------------

    def msk_cluster(self) -> tuple[str, str]:
        info = self._client("kafka").describe_cluster_v2(ClusterArn=self.outputs["kafka_cluster_arn"])["ClusterInfo"]
        state = info.get("State", "")
        if state == "ACTIVE":
            return PASS, f"{info.get('ClusterName', '')} is ACTIVE"
        if self.emulated and state == "CREATING":
            return SKIP, f"{EMULATOR} keeps every MSK cluster in CREATING; its real state is known only on AWS"
        return FAIL, f"{info.get('ClusterName', '')} is {state}, not ACTIVE"

    def msk_brokers(self) -> tuple[str, str]:
        try:
            answer = self._client("kafka", attempts=1).get_bootstrap_brokers(
                ClusterArn=self.outputs["kafka_cluster_arn"]
            )
        except ClientError as error:
            unanswered = self._unanswered(error, "kafka:GetBootstrapBrokers")
            if unanswered:
                return unanswered
            raise
        live = _endpoints(answer.get("BootstrapBrokerStringSaslIam", ""))
        output = _endpoints(self.outputs["kafka_bootstrap_brokers"])
        if live and live == output:
            return PASS, f"the {len(live)} IAM/TLS brokers equal the output (values are sensitive, not shown)"
        return FAIL, f"the output's {len(output)} broker(s) differ from the cluster's {len(live)} (values not shown)"

    # ---- cache ----------------------------------------------------------------------------------------------

    def _replication_group(self) -> dict[str, Any]:
        group_id = self.outputs["redis_replication_group_id"]
        return self._client("elasticache").describe_replication_groups(ReplicationGroupId=group_id)[
            "ReplicationGroups"
        ][0]

    def redis_group(self) -> tuple[str, str]:
        group = self._replication_group()
        problems = []
        if group.get("Status") != "available":
            problems.append(f"status {group.get('Status')}")
        if not group.get("AtRestEncryptionEnabled"):
            problems.append("not encrypted at rest")
        if not group.get("TransitEncryptionEnabled"):
            problems.append("no encryption in transit")
        name = group["ReplicationGroupId"]
        if problems:
            return FAIL, f"{name}: " + ", ".join(problems)
        return PASS, f"{name} is available, encrypted at rest and in transit"

    def redis_endpoint(self) -> tuple[str, str]:
        group = self._replication_group()
        endpoint = group.get("ConfigurationEndpoint") or (group.get("NodeGroups") or [{}])[0].get("PrimaryEndpoint")
        if not endpoint:
            return FAIL, "the replication group reports no endpoint"
        kind = "configuration" if group.get("ConfigurationEndpoint") else "primary"
        if f"{endpoint['Address']}:{endpoint['Port']}" == self.outputs["redis_endpoint"]:
            return PASS, f"equals the group's {kind} endpoint (value is sensitive, not shown)"
        return FAIL, f"differs from the group's {kind} endpoint (values are sensitive, not shown)"

    # ---- database -------------------------------------------------------------------------------------------

    def _db_instance(self) -> dict[str, Any]:
        identifier = self.outputs["database_instance_identifier"]
        return self._client("rds").describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]

    def rds_instance(self) -> tuple[str, str]:
        instance = self._db_instance()
        name = instance["DBInstanceIdentifier"]
        problems = []
        if instance.get("DBInstanceStatus") != "available":
            problems.append(f"status {instance.get('DBInstanceStatus')}")
        if not instance.get("StorageEncrypted"):
            problems.append("storage not encrypted")
        if problems:
            return FAIL, f"{name}: " + ", ".join(problems)
        return PASS, f"{name} is available and encrypted"

    def rds_multi_az(self) -> tuple[str, str]:
        expected = self.expectations.multi_az
        if expected is None:
            return SKIP, f"environments/{self.settings.name}/aws.tfvars declares no rds_multi_az to compare"
        actual = bool(self._db_instance().get("MultiAZ"))
        wording = "Multi-AZ" if actual else "single-AZ"
        if actual == expected:
            return PASS, f"{wording}, as rds_multi_az = {str(expected).lower()} requires"
        return FAIL, f"{wording}, but rds_multi_az = {str(expected).lower()} in aws.tfvars"

    def rds_endpoint(self) -> tuple[str, str]:
        endpoint = self._db_instance().get("Endpoint") or {}
        if not endpoint:
            return FAIL, "the instance reports no endpoint yet"
        if f"{endpoint['Address']}:{endpoint['Port']}" == self.outputs["database_endpoint"]:
            return PASS, "equals the instance's endpoint (value is sensitive, not shown)"
        return FAIL, "differs from the instance's endpoint (values are sensitive, not shown)"

    def rds_secret(self) -> tuple[str, str]:
        secret = self._client("secretsmanager").describe_secret(
            SecretId=self.outputs["database_master_user_secret_arn"]
        )
        return PASS, f"secret {secret['Name']} exists (its value is never read)"

    # ---- storage --------------------------------------------------------------------------------------------

    def data_lake(self) -> tuple[str, str]:
        s3 = self._client("s3")
        bucket = self.outputs["data_lake_bucket"]
        problems = []
        try:
            rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
            algorithms = sorted({r["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] for r in rules})
        except ClientError as error:
            if aws_errors.code(error) != "ServerSideEncryptionConfigurationNotFoundError":
                raise
            algorithms = []
            problems.append("no default encryption")
        if s3.get_bucket_versioning(Bucket=bucket).get("Status") != "Enabled":
            problems.append("versioning not enabled")
        try:
            block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
            open_flags = [flag for flag in PUBLIC_ACCESS_BLOCK if not block.get(flag)]
        except ClientError as error:
            if aws_errors.code(error) != "NoSuchPublicAccessBlockConfiguration":
                raise
            open_flags = list(PUBLIC_ACCESS_BLOCK)
        if open_flags:
            problems.append("public access not blocked: " + ", ".join(open_flags))
        if problems:
            return FAIL, f"{bucket}: " + "; ".join(problems)
        return PASS, f"{bucket}: encrypted ({', '.join(algorithms)}), versioned, public access blocked"

    # ---- compute --------------------------------------------------------------------------------------------

    def ecs_cluster(self) -> tuple[str, str]:
        name = self.outputs["ecs_cluster_name"]
        expected = contract.ecs_cluster_name(self.settings.name)
        clusters = self._client("ecs").describe_clusters(clusters=[name])["clusters"]
        if not clusters or clusters[0].get("status") != "ACTIVE":
            return FAIL, f"no ACTIVE cluster {name}"
        if name != expected:
            return FAIL, f"{name} is ACTIVE, but the runbook expects {expected}"
        return PASS, f"{name} is ACTIVE"

    def ecs_service(self, service: str) -> tuple[str, str]:
        if service not in self.outputs["ecs_service_names"]:
            return FAIL, "not in the output ecs_service_names"
        cluster = self.outputs["ecs_cluster_name"]
        found = self._client("ecs").describe_services(cluster=cluster, services=[service])["services"]
        if not found or found[0].get("status") != "ACTIVE":
            return FAIL, f"no ACTIVE service {service} in {cluster}"
        desired, running = found[0].get("desiredCount", 0), found[0].get("runningCount", 0)
        if self.emulated and desired > running:
            return SKIP, (
                f"ACTIVE with {desired} desired; {EMULATOR} starts no containers, so its running count "
                f"({running}) proves nothing"
            )
        if running >= desired:
            return PASS, f"{running} of {desired} task(s) running"
        return FAIL, f"{running} of {desired} task(s) running"

    def oms_discovery(self) -> tuple[str, str]:
        namespace = self.outputs["oms_service_discovery_namespace"]
        host = self.outputs["oms_grpc_endpoint"].rsplit(":", 1)[0]
        service, _, domain = host.partition(".")
        if domain != namespace:
            return FAIL, f"{host} is not inside the namespace {namespace}"
        discovery = self._client("servicediscovery")
        namespaces = [n for page in discovery.get_paginator("list_namespaces").paginate() for n in page["Namespaces"]]
        match = next((n for n in namespaces if n["Name"] == namespace), None)
        if match is None:
            return FAIL, f"no Cloud Map namespace {namespace}"
        services = discovery.list_services(Filters=[{"Name": "NAMESPACE_ID", "Values": [match["Id"]]}])["Services"]
        if not any(s["Name"] == service for s in services):
            return FAIL, f"no service {service} registered in {namespace}"
        return PASS, f"{service} is registered in {namespace} ({match['Type']})"

    # ---- api ------------------------------------------------------------------------------------------------

    def cognitive_api(self) -> tuple[str, str]:
        url = self.outputs["cognitive_api_url"]
        api_id = self.outputs.get("cognitive_api_id") or urlparse(url).hostname.split(".")[0]
        try:
            api = self._client("apigatewayv2").get_api(ApiId=api_id)
        except ClientError as error:
            if aws_errors.code(error) == "NotFoundException":
                return FAIL, f"no API {api_id}"
            raise
        endpoint = api.get("ApiEndpoint", "")
        if endpoint and url.rstrip("/").startswith(endpoint.rstrip("/")):
            return PASS, f"{url} belongs to API {api['Name']} ({api_id})"
        return FAIL, f"{url} does not start with API {api_id}'s endpoint {endpoint}"


def _endpoints(text: str) -> set[str]:
    return {part.strip() for part in text.split(",") if part.strip()}


def run(
    ctx: StageContext, outputs: dict[str, Any], emulated: bool, excluded: list[str] | tuple[str, ...] = ()
) -> Report:
    """The state checks, then (for every stack but smoke) the output checks, as one report."""
    verifier = Verifier(ctx, outputs, Expectations.of(ctx.settings), emulated)
    checks = verifier.state_checks()
    if ctx.stack != "smoke":
        checks += verifier.output_checks(require_contract=ctx.stack == "aipx", excluded=excluded)
    return report(checks, ctx.stack)


def report(checks: list[Check], stack: str) -> Report:
    counts = {status: sum(1 for c in checks if c.status == status) for status in (PASS, FAIL, SKIP)}
    status = "fail" if counts[FAIL] else ("warn" if counts[SKIP] else "ok")
    summary = f"{counts[PASS]} passed, {counts[FAIL]} failed, {counts[SKIP]} skipped"
    rows = [[c.name, c.outputs, c.status, c.reason] for c in checks]
    result = Report(
        "Live checks against AWS",
        status,
        summary,
        facts={
            "checks_passed": counts[PASS],
            "checks_failed": counts[FAIL],
            "checks_skipped": counts[SKIP],
            "failed": [c.name for c in checks if c.status == FAIL],
        },
        tables=[Table(["check", "outputs", "result", "reason"], rows)],
    )
    if stack == "smoke":
        result.notes.append(
            "the smoke stack creates no AWS resources: its outputs are names, so only the state is checked"
        )
    return result
