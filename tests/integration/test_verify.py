"""Live verification of the outputs against the moto server, with resources made by these fixtures in the shape
the AIPX stack's outputs describe (terraform/aws cannot be applied here: its provider cannot be downloaded)."""

from __future__ import annotations

import json

import pytest

import moto_api
from aipx_runbook import stages, verify
from aipx_runbook.config import read_tfvars
from aipx_runbook.errors import RunbookError
from aipx_runbook.stages.verify import checks_report
from aipx_runbook.state_bucket import PUBLIC_ACCESS_BLOCK

pytestmark = pytest.mark.integration
SECRETS = ("b-1.aipx", "master.aipx", "aipx-dev.aaaaaaaaaa", "aipx-production.aaaaaaaaaa")


def build_stack(ctx, availability_zones: int, multi_az: bool, desired: dict[str, int]) -> dict:
    """The AIPX stack's resources in the emulator, and its outputs as `terraform output` would give them."""
    env, client = ctx.environment, ctx.target.client
    name = f"aipx-{env}"
    ec2 = client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.10.0.0/16")["Vpc"]["VpcId"]
    zones = sorted(z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"])[:availability_zones]

    def subnets(offset: int) -> list[str]:
        return [
            ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.10.{offset + i}.0/24", AvailabilityZone=zone)["Subnet"][
                "SubnetId"
            ]
            for i, zone in enumerate(zones)
        ]

    public, private = subnets(0), subnets(16)
    kafka = client("kafka").create_cluster_v2(
        ClusterName=name,
        Provisioned={
            "BrokerNodeGroupInfo": {"InstanceType": "kafka.t3.small", "ClientSubnets": private},
            "KafkaVersion": "3.6.0",
            "NumberOfBrokerNodes": availability_zones,
        },
    )
    group = client("elasticache").create_replication_group(
        ReplicationGroupId=name,
        ReplicationGroupDescription="AIPX Redis",
        CacheNodeType="cache.t3.micro",
        Engine="redis",
        NumCacheClusters=2,
        AtRestEncryptionEnabled=True,
        TransitEncryptionEnabled=True,
    )["ReplicationGroup"]
    primary = group["NodeGroups"][0]["PrimaryEndpoint"]
    database = client("rds").create_db_instance(
        DBInstanceIdentifier=name,
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        MasterUsername="aipx",
        ManageMasterUserPassword=True,
        StorageEncrypted=True,
        MultiAZ=multi_az,
        AllocatedStorage=20,
    )["DBInstance"]
    s3 = client("s3")
    lake = f"{name}-data-lake"
    s3.create_bucket(Bucket=lake, CreateBucketConfiguration={"LocationConstraint": ctx.region})
    s3.put_bucket_versioning(Bucket=lake, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket=lake,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
    )
    s3.put_public_access_block(
        Bucket=lake,
        PublicAccessBlockConfiguration=PUBLIC_ACCESS_BLOCK,
    )
    ecs = client("ecs")
    ecs.create_cluster(clusterName=name)
    for service, count in desired.items():
        ecs.register_task_definition(
            family=service, containerDefinitions=[{"name": service, "image": "x", "memory": 512}]
        )
        ecs.create_service(cluster=name, serviceName=service, taskDefinition=service, desiredCount=count)
    discovery = client("servicediscovery")
    namespace = f"{name}.internal"
    discovery.create_private_dns_namespace(Name=namespace, Vpc=vpc_id)
    namespace_id = next(n["Id"] for n in discovery.list_namespaces()["Namespaces"] if n["Name"] == namespace)
    discovery.create_service(Name="oms", NamespaceId=namespace_id, DnsConfig={"DnsRecords": [{"Type": "A", "TTL": 10}]})
    api = client("apigatewayv2").create_api(Name=f"{name}-cognitive", ProtocolType="HTTP")
    client("apigatewayv2").create_stage(ApiId=api["ApiId"], StageName="$default", AutoDeploy=True)
    return {
        "vpc_id": vpc_id,
        "public_subnets": public,
        "private_subnets": private,
        "availability_zones": zones,
        "kafka_cluster_arn": kafka["ClusterArn"],
        "kafka_bootstrap_brokers": ",".join(f"b-{i}.{name}.kafka.{ctx.region}.amazonaws.com:9098" for i in (1, 2)),
        "redis_replication_group_id": name,
        "redis_endpoint": f"{primary['Address']}:{primary['Port']}",
        "database_instance_identifier": name,
        "database_endpoint": f"{database['Endpoint']['Address']}:{database['Endpoint']['Port']}",
        "database_master_user_secret_arn": database["MasterUserSecret"]["SecretArn"],
        "data_lake_bucket": lake,
        "ecs_cluster_name": name,
        "ecs_service_names": list(desired),
        "oms_service_discovery_namespace": namespace,
        "oms_grpc_endpoint": f"oms.{namespace}:50051",
        "cognitive_api_id": api["ApiId"],
        "cognitive_api_url": api["ApiEndpoint"] + "/",
    }


@pytest.fixture
def backend_with_state(stage_context, moto_server, reset_emulator, tmp_path):
    def made(environment: str):
        """Stage 05 of the AIPX stack, on a compliant backend holding a state object under its key and no lock."""
        ctx = stage_context("verify", environment, stack="aipx", run_dir=tmp_path)
        stages.backend_setup(stage_context("backend", environment, run_dir=tmp_path))
        ctx.target.client("s3").put_object(Bucket=ctx.settings.state_bucket, Key=ctx.settings.state_key, Body=b"{}")
        return ctx

    yield made
    # moto's /moto-api/data.json, the emulator module's health check, fails once an RDS instance exists:
    # empty the emulator again so that the next test's stage finds it alive.
    moto_api.empty(moto_server)


@pytest.fixture
def dev_stack(backend_with_state):
    ctx = backend_with_state("dev")
    return ctx, build_stack(ctx, availability_zones=2, multi_az=False, desired={"data-ingestion": 0, "oms": 1})


def _results(report) -> dict[str, tuple[str, str]]:
    return {row[0]: (row[2], row[3]) for row in report.tables[0].rows}


def test_a_healthy_stack_passes_and_what_moto_cannot_answer_is_skipped(dev_stack) -> None:
    ctx, outputs = dev_stack
    report = checks_report(verify.run(ctx, outputs, emulated=True), ctx.stack)
    results = _results(report)
    statuses = {name: status for name, (status, _) in results.items()}
    assert statuses == {
        "state object": "PASS",
        "state lock": "PASS",
        "VPC": "PASS",
        "public subnets": "PASS",
        "private subnets": "PASS",
        "MSK cluster": "SKIP",
        "MSK bootstrap brokers": "SKIP",
        "Redis replication group": "PASS",
        "Redis endpoint": "PASS",
        "RDS instance": "PASS",
        "RDS Multi-AZ": "PASS",
        "RDS endpoint": "PASS",
        "RDS master user secret": "PASS",
        "data lake bucket": "PASS",
        "ECS cluster": "PASS",
        "OMS in service discovery": "PASS",
        "cognitive API": "PASS",
        "ECS service data-ingestion": "PASS",
        "ECS service oms": "SKIP",
    }
    assert "does not implement kafka:GetBootstrapBrokers" in results["MSK bootstrap brokers"][1]
    assert "keeps every MSK cluster in CREATING" in results["MSK cluster"][1]
    assert "starts no containers" in results["ECS service oms"][1]
    assert "over ap-northeast-2a, ap-northeast-2b" in results["public subnets"][1]
    assert report.status == "warn" and report.facts["checks_failed"] == 0 and report.facts["checks_skipped"] == 3
    shown = str(report) + report._repr_html_() + json.dumps(report.facts)
    for name in ("kafka_bootstrap_brokers", "redis_endpoint", "database_endpoint"):
        assert outputs[name] not in shown


def test_on_aws_the_same_answers_fail_instead_of_skipping(dev_stack) -> None:
    """emulated=False applies the verdicts used on a real account to the emulator's answers."""
    ctx, outputs = dev_stack
    results = _results(checks_report(verify.run(ctx, outputs, emulated=False), ctx.stack))
    assert results["MSK cluster"][0] == "FAIL" and "CREATING, not ACTIVE" in results["MSK cluster"][1]
    assert results["MSK bootstrap brokers"][0] == "FAIL"
    assert results["ECS service oms"] == ("FAIL", "0 of 1 task(s) running")
    assert results["ECS service data-ingestion"] == ("PASS", "0 of 0 task(s) running")


def test_each_departure_from_the_environment_is_a_fail_with_its_reason(backend_with_state) -> None:
    ctx = backend_with_state("production")
    expected = read_tfvars(ctx.settings.tfvars)
    assert expected["availability_zone_count"] == 3 and expected["rds_multi_az"] is True
    outputs = build_stack(ctx, availability_zones=2, multi_az=False, desired={"data-ingestion": 0, "oms": 0})
    s3 = ctx.target.client("s3")
    s3.put_bucket_versioning(Bucket=outputs["data_lake_bucket"], VersioningConfiguration={"Status": "Suspended"})
    s3.delete_public_access_block(Bucket=outputs["data_lake_bucket"])
    outputs["redis_endpoint"] = "elsewhere.cache.amazonaws.com:6379"
    outputs["database_endpoint"] = "elsewhere.rds.amazonaws.com:5432"
    outputs["oms_grpc_endpoint"] = f"ledger.{outputs['oms_service_discovery_namespace']}:50051"
    outputs["cognitive_api_id"] = "nosuchapi"
    del outputs["kafka_cluster_arn"]
    results = _results(checks_report(verify.run(ctx, outputs, emulated=True), ctx.stack))
    assert results["outputs the runbook relies on"] == ("FAIL", "missing from the state")
    assert "MSK cluster" not in results
    assert results["public subnets"][0] == "FAIL" and "the environment expects 3" in results["public subnets"][1]
    assert results["RDS Multi-AZ"] == ("FAIL", "single-AZ, but rds_multi_az = true in aws.tfvars")
    assert results["data lake bucket"][0] == "FAIL"
    assert "versioning not enabled" in results["data lake bucket"][1]
    assert "public access not blocked: BlockPublicAcls" in results["data lake bucket"][1]
    assert results["Redis endpoint"][0] == results["RDS endpoint"][0] == "FAIL"
    assert "elsewhere" not in results["Redis endpoint"][1] + results["RDS endpoint"][1]
    assert results["OMS in service discovery"] == ("FAIL", "no service ledger registered in aipx-production.internal")
    assert results["cognitive API"] == ("FAIL", "no API nosuchapi")


def test_a_missing_vpc_and_a_held_lock_fail(backend_with_state) -> None:
    ctx = backend_with_state("staging")
    lock_id = f"{ctx.settings.state_bucket}/{ctx.settings.state_key}"
    info = {"ID": "4b1d", "Operation": "OperationTypeApply", "Who": "ops@laptop", "Created": "2026-01-01T00:00:00Z"}
    ctx.target.client("dynamodb").put_item(
        TableName=ctx.settings.lock_table, Item={"LockID": {"S": lock_id}, "Info": {"S": json.dumps(info)}}
    )
    results = _results(checks_report(verify.run(ctx, {"vpc_id": "vpc-00000000"}, emulated=True), ctx.stack))
    assert results["VPC"] == ("FAIL", "no VPC vpc-00000000 in ap-northeast-2")
    assert results["state lock"][0] == "FAIL" and "ops@laptop" in results["state lock"][1]
    assert "4b1d" in results["state lock"][1]


def test_stage_05_on_the_smoke_stack_checks_the_state_it_applied(stage_context, reset_emulator, tmp_path) -> None:
    def at(stage: str):
        return stage_context(stage, run_dir=tmp_path)

    stages.backend_setup(at("backend"))
    stages.init(at("init"))
    with pytest.raises(RunbookError, match="state object"):
        stages.verify(at("verify"))
    stages.plan(at("plan"))
    stages.apply(at("apply"), auto_approve=True)
    report = stages.verify(at("verify"))
    assert _results(report) == {
        "state object": ("PASS", "s3://aipx-terraform-state/smoke/dev/terraform.tfstate exists"),
        "state lock": ("PASS", "no lock held (dynamodb locking)"),
    }
    assert "only the state is checked" in report.notes[0]
    record = json.loads((tmp_path / "stages" / "verify.json").read_text())
    assert record["facts"]["checks_passed"] == 2 and "database_endpoint" in record["facts"]["outputs"]
