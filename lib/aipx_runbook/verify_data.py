"""Live checks of the data services: MSK (streaming), ElastiCache Redis (cache), RDS (database) and the data
lake bucket (storage). Endpoints held in sensitive outputs are compared, never shown."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from . import aws_errors
from .state_bucket import PUBLIC_ACCESS_BLOCK
from .verify_probe import EMULATOR, FAIL, PASS, SKIP, Probe, Result

# ---- streaming ------------------------------------------------------------------------------------------


def msk_cluster(probe: Probe) -> Result:
    info = probe.client("kafka").describe_cluster_v2(ClusterArn=probe.outputs["kafka_cluster_arn"])["ClusterInfo"]
    state = info.get("State", "")
    if state == "ACTIVE":
        return PASS, f"{info.get('ClusterName', '')} is ACTIVE"
    if probe.emulated and state == "CREATING":
        return SKIP, f"{EMULATOR} keeps every MSK cluster in CREATING; its real state is known only on AWS"
    return FAIL, f"{info.get('ClusterName', '')} is {state}, not ACTIVE"


def msk_brokers(probe: Probe) -> Result:
    try:
        answer = probe.client("kafka", attempts=1).get_bootstrap_brokers(ClusterArn=probe.outputs["kafka_cluster_arn"])
    except ClientError as error:
        unanswered = probe.unanswered(error, "kafka:GetBootstrapBrokers")
        if unanswered:
            return unanswered
        raise
    live = _endpoints(answer.get("BootstrapBrokerStringSaslIam", ""))
    output = _endpoints(probe.outputs["kafka_bootstrap_brokers"])
    if live and live == output:
        return PASS, f"the {len(live)} IAM/TLS brokers equal the output (values are sensitive, not shown)"
    return FAIL, f"the output's {len(output)} broker(s) differ from the cluster's {len(live)} (values not shown)"


# ---- cache ----------------------------------------------------------------------------------------------


def _replication_group(probe: Probe) -> dict[str, Any]:
    group_id = probe.outputs["redis_replication_group_id"]
    return probe.client("elasticache").describe_replication_groups(ReplicationGroupId=group_id)["ReplicationGroups"][0]


def redis_group(probe: Probe) -> Result:
    group = _replication_group(probe)
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


def redis_endpoint(probe: Probe) -> Result:
    group = _replication_group(probe)
    endpoint = group.get("ConfigurationEndpoint") or (group.get("NodeGroups") or [{}])[0].get("PrimaryEndpoint")
    if not endpoint:
        return FAIL, "the replication group reports no endpoint"
    kind = "configuration" if group.get("ConfigurationEndpoint") else "primary"
    if f"{endpoint['Address']}:{endpoint['Port']}" == probe.outputs["redis_endpoint"]:
        return PASS, f"equals the group's {kind} endpoint (value is sensitive, not shown)"
    return FAIL, f"differs from the group's {kind} endpoint (values are sensitive, not shown)"


# ---- database -------------------------------------------------------------------------------------------


def _db_instance(probe: Probe) -> dict[str, Any]:
    identifier = probe.outputs["database_instance_identifier"]
    return probe.client("rds").describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]


def rds_instance(probe: Probe) -> Result:
    instance = _db_instance(probe)
    name = instance["DBInstanceIdentifier"]
    problems = []
    if instance.get("DBInstanceStatus") != "available":
        problems.append(f"status {instance.get('DBInstanceStatus')}")
    if not instance.get("StorageEncrypted"):
        problems.append("storage not encrypted")
    if problems:
        return FAIL, f"{name}: " + ", ".join(problems)
    return PASS, f"{name} is available and encrypted"


def rds_multi_az(probe: Probe) -> Result:
    expected = probe.expectations.multi_az
    if expected is None:
        return SKIP, f"environments/{probe.settings.name}/aws.tfvars declares no rds_multi_az to compare"
    actual = bool(_db_instance(probe).get("MultiAZ"))
    wording = "Multi-AZ" if actual else "single-AZ"
    if actual == expected:
        return PASS, f"{wording}, as rds_multi_az = {str(expected).lower()} requires"
    return FAIL, f"{wording}, but rds_multi_az = {str(expected).lower()} in aws.tfvars"


def rds_endpoint(probe: Probe) -> Result:
    endpoint = _db_instance(probe).get("Endpoint") or {}
    if not endpoint:
        return FAIL, "the instance reports no endpoint yet"
    if f"{endpoint['Address']}:{endpoint['Port']}" == probe.outputs["database_endpoint"]:
        return PASS, "equals the instance's endpoint (value is sensitive, not shown)"
    return FAIL, "differs from the instance's endpoint (values are sensitive, not shown)"


def rds_secret(probe: Probe) -> Result:
    secret = probe.client("secretsmanager").describe_secret(SecretId=probe.outputs["database_master_user_secret_arn"])
    return PASS, f"secret {secret['Name']} exists (its value is never read)"


# ---- storage --------------------------------------------------------------------------------------------


def data_lake(probe: Probe) -> Result:
    s3 = probe.client("s3")
    bucket = probe.outputs["data_lake_bucket"]
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


def _endpoints(text: str) -> set[str]:
    return {part.strip() for part in text.split(",") if part.strip()}
