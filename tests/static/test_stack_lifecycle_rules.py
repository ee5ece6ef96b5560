"""Offline checks of what makes the AIPX stack destroyable, re-creatable and upgradable (terraform/aws).

The emulator lifecycle (tests/integration/test_aipx_lifecycle.py) proves the first two by applying and destroying
twice; these checks name the rule behind each and cover what the emulator cannot run (MSK).
"""

from __future__ import annotations

import re
import subprocess
from typing import Any

import hcl2
import pytest

from paths import PROJECT_ROOT

pytestmark = pytest.mark.static

STACK = PROJECT_ROOT / "terraform" / "aws"
ENVIRONMENTS = ("dev", "staging", "production")


def _resources() -> dict[tuple[str, str], dict[str, Any]]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(STACK.glob("*.tf")):
        with path.open() as handle:
            for block in hcl2.load(handle).get("resource", []):
                for type_, named in block.items():
                    for name, body in named.items():
                        found[(type_.strip('"'), name.strip('"'))] = body
    return found


def _tfvars(environment: str) -> dict[str, Any]:
    with (PROJECT_ROOT / "environments" / environment / "aws.tfvars").open() as handle:
        return {k: v for k, v in hcl2.load(handle).items() if not k.startswith("__")}


def _lifecycle(body: dict[str, Any]) -> dict[str, Any]:
    blocks = body.get("lifecycle", [{}])
    return blocks[0] if blocks else {}


def test_destroy_empties_buckets_and_repositories_except_in_production() -> None:
    """Staging's versioned data lake, its access logs and the ECR images would stop a destroy otherwise;
    production's data is never deleted by a destroy."""
    assert {env: _tfvars(env).get("force_destroy") for env in ENVIRONMENTS} == {
        "dev": True,
        "staging": True,
        "production": False,
    }
    resources = _resources()
    for bucket in ("data_lake", "access_logs"):
        assert resources[("aws_s3_bucket", bucket)]["force_destroy"] == "${var.force_destroy}"
    assert resources[("aws_ecr_repository", "this")]["force_delete"] == "${var.force_destroy}"


def test_final_snapshot_name_is_unique_per_database_instance() -> None:
    database = _resources()[("aws_db_instance", "this")]
    identifier = database["final_snapshot_identifier"]
    assert "plantimestamp()" in identifier, "a fixed name fails the second destroy with DBSnapshotAlreadyExists"
    assert "final_snapshot_identifier" in str(_lifecycle(database).get("ignore_changes")), (
        "the time is fixed at creation; otherwise every plan would change it"
    )
    staging, production = _tfvars("staging"), _tfvars("production")
    assert staging["rds_skip_final_snapshot"] is False and production["rds_skip_final_snapshot"] is False


def test_msk_configuration_can_be_replaced_while_in_use() -> None:
    configuration = _resources()[("aws_msk_configuration", "this")]
    assert _lifecycle(configuration).get("create_before_destroy") is True
    assert configuration["name"] == "${local.kafka_configuration_name}"
    streaming = (STACK / "streaming.tf").read_text()
    assert re.search(r"kafka_configuration_name = join\(\"-\", \[.*?var\.kafka_version.*?sha256", streaming, re.S), (
        "the configuration's name must change with the Kafka version and the properties (no name_prefix in MSK)"
    )


def test_idempotent_producers_may_write() -> None:
    iam = (STACK / "iam.tf").read_text()
    cluster_statement = iam[iam.index('"KafkaCluster"') : iam.index('"KafkaTopics"')]
    assert '"kafka-cluster:WriteDataIdempotently"' in cluster_statement, "a cluster action: on the cluster's ARN"


def test_log_groups_aws_would_create_are_the_stacks() -> None:
    logs = (STACK / "logs.tf").read_text()
    assert '"/aws/ecs/containerinsights/${local.ecs_cluster_name}/performance"' in logs
    readme = (STACK / "README.md").read_text()
    assert "RDSOSMetrics" in readme, "the README says which AWS-created log group the stack does not manage"


def test_provider_lock_file_is_committed() -> None:
    lock = STACK / ".terraform.lock.hcl"
    tracked = subprocess.run(
        ["git", "ls-files", "--error-unmatch", str(lock.relative_to(PROJECT_ROOT))],
        cwd=PROJECT_ROOT,
        capture_output=True,
    )
    assert tracked.returncode == 0, "terraform/aws/.terraform.lock.hcl is not committed"
    with lock.open() as handle:
        providers = hcl2.load(handle)["provider"]
    [[address]] = [list(block) for block in providers]
    assert address.strip('"') == "registry.terraform.io/hashicorp/aws"
    [body] = [block[address] for block in providers]
    assert re.fullmatch(r"5\.\d+\.\d+", body["version"].strip('"')) and body["hashes"]
