"""The AIPX stack's lifecycle on an emulator, through the runbook's stages: plan, apply, verify, destroy.

Reusable: `run_cycle` takes the environment and a run directory and drives stages 03-06 with the library's stage
functions on target local, so it runs against whichever emulator the workspace's `AIPX_WORKSPACE` records, with the
keys target local signs with (the default dummy ones, or an emulator user's: AIPX_LOCAL_ACCESS_KEY_ID/SECRET).
What the test itself does besides the runbook (writing data, listing what is left) goes through `Clients`, a
factory of boto3 clients that may hold other keys (an administrator's, where the emulator enforces IAM).
`stack_leftovers` lists what the emulator still holds of an environment's stack, by its tags and per-service
listings; `backend_present` checks the state bucket and lock table.

moto cannot run the whole stack (terraform/aws/README.md, "Emulator lifecycle"), so every plan leaves out EXCLUDED
and what depends on them, computed by the runbook from Terraform's graph (stage 03's `exclude`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from aipx_runbook import stages
from aipx_runbook.context import StageContext
from aipx_runbook.results import Report

# What moto cannot do, and so what every emulator plan leaves out (with all that depends on them):
EXCLUDED = (
    "aws_msk_cluster.this",  # stays CREATING forever, no GetBootstrapBrokers
    "aws_msk_configuration.this",  # only used by the cluster; MSK is left out as a whole
    "aws_elasticache_user_group.this",  # no CreateUserGroup
    "aws_elasticache_subnet_group.this",  # no DeleteCacheSubnetGroup: created, it could never be destroyed
)
# ...and what the runbook computes from the graph as depending on them (a test holds it to this list).
EXPECTED_DEPENDENTS = (
    "aws_apigatewayv2_integration.cognitive",
    "aws_apigatewayv2_route.cognitive",
    "aws_ecs_service.this",
    "aws_ecs_task_definition.this",
    "aws_elasticache_replication_group.this",
    "aws_lambda_function.this",
    "aws_lambda_permission.cognitive_api",
)
ACCOUNT = "123456789012"
# service name -> boto3 client for the emulator, with the keys of whoever does the test's own work
Clients = Callable[[str], Any]


@dataclass
class Cycle:
    """One apply-verify-destroy cycle: each stage's report, what was put into the stack, what was left."""

    plan: Report
    apply: Report
    verify: Report
    seeded: dict[str, int]
    boundaries: dict[str, str]
    destroy_plan: Report
    destroy: Report
    leftovers: list[str]
    seconds: dict[str, float] = field(default_factory=dict)


def _stage(name: str, environment: str, run_dir: Path) -> StageContext:
    return stages.start(name, environment=environment, target="local", stack="aipx", run_dir=str(run_dir))


def run_cycle(environment: str, run_dir: Path, clients: Clients, exclude: tuple[str, ...] = EXCLUDED) -> Cycle:
    """Stages 03 (plan with exclude), 04 (apply), 05 (verify), data into the buckets and repositories (by
    `clients`), 06 (destroy plan, destroy); a stage that fails raises its RunbookError, naming the stage's error."""
    seconds: dict[str, float] = {}

    def timed(name: str, call: Any) -> Any:
        started = time.monotonic()
        try:
            return call()
        finally:
            seconds[name] = round(time.monotonic() - started, 1)

    plan = timed("plan", lambda: stages.plan(_stage("plan", environment, run_dir), exclude=list(exclude)))
    apply = timed("apply", lambda: stages.apply(_stage("apply", environment, run_dir), auto_approve=True))
    verify = timed("verify", lambda: stages.verify(_stage("verify", environment, run_dir)))
    ctx = _stage("destroy", environment, run_dir)
    seeded = timed("seed", lambda: seed_data(clients, environment))
    boundaries = role_boundaries(clients, environment)
    destroy_plan = timed("destroy plan", lambda: stages.destroy_plan(ctx))
    destroy = timed("destroy", lambda: stages.destroy(_stage("destroy", environment, run_dir), confirm=environment))
    leftovers = stack_leftovers(clients, environment)
    return Cycle(plan, apply, verify, seeded, boundaries, destroy_plan, destroy, leftovers, seconds)


def seed_data(clients: Clients, environment: str) -> dict[str, int]:
    """What real use leaves behind: object versions in both buckets, an image in every ECR repository.

    moto evaluates bucket policies without their conditions, so the stack's Deny of non-TLS requests refuses
    every PutObject; the policy is taken off while the objects are written and put back unchanged (an emulator
    workaround: on AWS the policy admits TLS requests)."""
    s3, ecr = clients("s3"), clients("ecr")
    name = f"aipx-{environment}"
    counts: dict[str, int] = {}
    for bucket in (f"{name}-data-lake-{ACCOUNT}", f"{name}-access-logs-{ACCOUNT}"):
        policy = s3.get_bucket_policy(Bucket=bucket)["Policy"]
        s3.delete_bucket_policy(Bucket=bucket)
        try:
            for version in range(2):
                s3.put_object(Bucket=bucket, Key="data-lake/seed.txt", Body=f"version {version}".encode())
        finally:
            s3.put_bucket_policy(Bucket=bucket, Policy=policy)
        counts[bucket] = len(s3.list_object_versions(Bucket=bucket).get("Versions", []))
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 1,
                "digest": "sha256:" + "a" * 64,
            },
            "layers": [],
        }
    )
    for repository in ecr.describe_repositories()["repositories"]:
        if repository["repositoryName"].startswith(f"{name}/"):
            ecr.put_image(repositoryName=repository["repositoryName"], imageManifest=manifest, imageTag="bootstrap")
            counts[repository["repositoryName"]] = len(
                ecr.list_images(repositoryName=repository["repositoryName"])["imageIds"]
            )
    return counts


def role_boundaries(clients: Clients, environment: str) -> dict[str, str]:
    """Each role of the environment's stack -> the permissions boundary it was created with ("" for none)."""
    iam = clients("iam")
    return {
        role["RoleName"]: iam.get_role(RoleName=role["RoleName"])["Role"]
        .get("PermissionsBoundary", {})
        .get("PermissionsBoundaryArn", "")
        for page in iam.get_paginator("list_roles").paginate()
        for role in page["Roles"]
        if role["RoleName"].startswith(f"aipx-{environment}-")
    }


def final_snapshots(clients: Clients, environment: str) -> list[str]:
    """The database's final snapshots (kept on purpose by a destroy: not leftovers)."""
    rds = clients("rds")
    prefix = f"aipx-{environment}-postgres-final"
    found = rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]
    return sorted(s["DBSnapshotIdentifier"] for s in found if s["DBSnapshotIdentifier"].startswith(prefix))


def stack_leftovers(client: Clients, environment: str) -> list[str]:
    """Everything the emulator still holds of the environment's stack: tagged resources (the stack's default
    tags), plus per-service listings by name for what the tagging API does not cover. Kept on purpose, so not
    listed: final database snapshots and KMS keys pending deletion (a key is only ever scheduled for deletion)."""
    name = f"aipx-{environment}"
    left: set[str] = set()
    tagging = client("resourcegroupstaggingapi")
    for page in tagging.get_paginator("get_resources").paginate(
        TagFilters=[{"Key": "Project", "Values": ["aipx"]}, {"Key": "Environment", "Values": [environment]}]
    ):
        left.update(r["ResourceARN"] for r in page["ResourceTagMappingList"] if ":snapshot:" not in r["ResourceARN"])
    # moto keeps deleted NAT gateways (state "deleted") and deleted ECS clusters (status INACTIVE), tags and all,
    # as AWS does for a while: gone, not leftovers.
    ec2, ecs = client("ec2"), client("ecs")
    gone = {
        arn
        for arn in left
        if (
            ":natgateway/" in arn
            and all(
                n["State"] in ("deleted", "deleting")
                for n in ec2.describe_nat_gateways(NatGatewayIds=[arn.rsplit("/", 1)[1]])["NatGateways"]
            )
        )
        or (
            ":ecs:" in arn
            and ":cluster/" in arn
            and all(c["status"] != "ACTIVE" for c in ecs.describe_clusters(clusters=[arn])["clusters"])
        )
    }
    left -= gone
    kms = client("kms")
    pending = {
        arn
        for arn in left
        if ":kms:" in arn and kms.describe_key(KeyId=arn)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    }
    left -= pending
    tag = [{"Name": "tag:Environment", "Values": [environment]}, {"Name": "tag:Project", "Values": ["aipx"]}]
    left.update(f"vpc {v['VpcId']}" for v in ec2.describe_vpcs(Filters=tag)["Vpcs"])
    left.update(f"subnet {s['SubnetId']}" for s in ec2.describe_subnets(Filters=tag)["Subnets"])
    left.update(
        f"nat gateway {n['NatGatewayId']}"
        for n in ec2.describe_nat_gateways(Filter=tag)["NatGateways"]
        if n["State"] not in ("deleted", "deleting")
    )
    left.update(f"eip {a['AllocationId']}" for a in ec2.describe_addresses(Filters=tag)["Addresses"])
    left.update(f"bucket {b['Name']}" for b in client("s3").list_buckets()["Buckets"] if b["Name"].startswith(name))
    left.update(
        f"ecr {r['repositoryName']}"
        for r in client("ecr").describe_repositories()["repositories"]
        if r["repositoryName"].startswith(f"{name}/")
    )
    left.update(
        f"log group {g['logGroupName']}"
        for page in client("logs").get_paginator("describe_log_groups").paginate()
        for g in page["logGroups"]
        if name in g["logGroupName"]
    )
    left.update(f"role {r['RoleName']}" for r in client("iam").list_roles()["Roles"] if r["RoleName"].startswith(name))
    left.update(
        f"lambda {f['FunctionName']}"
        for f in client("lambda").list_functions()["Functions"]
        if f["FunctionName"].startswith(name)
    )
    left.update(
        f"db {d['DBInstanceIdentifier']}"
        for d in client("rds").describe_db_instances()["DBInstances"]
        if d["DBInstanceIdentifier"].startswith(name)
    )
    left.update(f"queue {q}" for q in client("sqs").list_queues().get("QueueUrls", []) if name in q)
    left.update(
        f"ecs cluster {c['clusterName']}"
        for c in ecs.describe_clusters(clusters=[name])["clusters"]
        if c["status"] == "ACTIVE"
    )
    left.update(f"alias {a['AliasName']}" for a in kms.list_aliases()["Aliases"] if a["AliasName"] == f"alias/{name}")
    return sorted(left)


def backend_present(clients: Clients, ctx: StageContext) -> list[str]:
    """What of the state backend is missing: [] when the state bucket and the lock table are there."""
    missing = []
    try:
        clients("s3").head_bucket(Bucket=ctx.settings.state_bucket)
    except ClientError:
        missing.append(f"s3://{ctx.settings.state_bucket}")
    try:
        clients("dynamodb").describe_table(TableName=ctx.settings.lock_table)
    except ClientError:
        missing.append(f"dynamodb:{ctx.settings.lock_table}")
    return missing
