"""Apply and destroy most of the AIPX stack as the emulator user holding the operator policies, on an IAM-enforcing
moto (tests/integration/iam_emulator.py): the calls that create, read and delete the network, key, log groups,
buckets, queue, repositories, ECS cluster, roles, Cloud Map, RDS groups and ElastiCache users, authorised one by one.

Terraform runs directly (init, apply and destroy with -target, local state), as stages 04 and 06 run it: the
runbook's plan stage takes no exclusions yet, and the stages' own permissions are proven by test_iam_enforced.py.
Left out, with the reason: APPLIED says what is in. What moto cannot check is warned about, as there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import iam_emulator
import pytest
from test_iam_enforced import BOUNDARY, NEEDS_NO_GRANT, OPERATOR_POLICIES, _document, _grants, key_policy

from paths import PROJECT_ROOT
from terraform_mirror import ProviderInstallation

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("iam_enforced_apply")]

STACK = PROJECT_ROOT / "terraform" / "aws"
# Everything these need is applied with them. Not applied: MSK (moto's cluster never leaves CREATING), the Redis
# replication group, user group and subnet group (moto has no CreateUserGroup, no DeleteCacheSubnetGroup), and what
# needs them (Lambda functions, ECS task definitions and services, the API's integration); the database instance
# and the API (moto refuses the signature of API Gateway v2 reads once IAM is enforced).
APPLIED = (
    "module.vpc",
    "aws_kms_alias.this",
    "aws_cloudwatch_log_group.this",
    "aws_s3_bucket_policy.data_lake",
    "aws_s3_bucket_policy.access_logs",
    "aws_s3_bucket_lifecycle_configuration.data_lake",
    "aws_s3_bucket_public_access_block.data_lake",
    "aws_sqs_queue.lambda_dead_letter",
    "aws_ecr_lifecycle_policy.this",
    "aws_iam_role_policy.ecs_execution",
    "aws_iam_role.ecs_task",
    "aws_iam_role_policy_attachment.lambda_eni_management",
    "aws_iam_role_policy.rds_enhanced_monitoring",
    "aws_ecs_cluster_capacity_providers.this",
    "aws_service_discovery_service.oms",
    "aws_db_parameter_group.this",
    "aws_elasticache_user.app",
    "aws_elasticache_user.default",
    "aws_security_group.rds",
)
# every role of the stack (compute.tf, functions.tf, database.tf, modules/vpc), dev
ROLES = (
    "aipx-dev-ecs-execution",
    "aipx-dev-data-ingestion-task",
    "aipx-dev-oms-task",
    "aipx-dev-rds-monitoring",
    "aipx-dev-vpc-flow-log",
    *(f"aipx-dev-{function}-lambda" for function in ("strategy-worker", "cognitive", "notification", "recorder")),
)
EXERCISED = {
    "ec2:CreateVpc",
    "ec2:CreateNatGateway",
    "ec2:CreateFlowLogs",
    "ec2:DeleteVpc",
    "kms:CreateKey",
    "kms:CreateAlias",
    "iam:CreateRole",
    "iam:AttachRolePolicy",
    "iam:PutRolePolicy",
    "iam:DeleteRole",
    "s3:PutBucketPolicy",
    "s3:DeleteBucket",
    "logs:CreateLogGroup",
    "sqs:CreateQueue",
    "ecr:CreateRepository",
    "ecs:CreateCluster",
    "servicediscovery:CreatePrivateDnsNamespace",
    "rds:CreateDBParameterGroup",
    "elasticache:CreateUser",
}


@dataclass
class Applied:
    apply: subprocess.CompletedProcess[str]
    destroy: subprocess.CompletedProcess[str] | None
    boundaries: dict[str, str]
    decisions: list[dict[str, str]]
    notes: list[str]


@pytest.fixture(scope="module")
def applied_as_operator(
    aipx_providers: ProviderInstallation, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Applied]:
    root = tmp_path_factory.mktemp("iam-apply")
    stack = root / "stack"
    shutil.copytree(STACK, stack, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*", "*.tfplan"))
    (stack / "backend_override.tf").write_text('terraform {\n  backend "local" {}\n}\n')
    views = {name: iam_emulator.moto_view(_document(path)) for name, path in OPERATOR_POLICIES.items()}
    notes = [note for name, view in views.items() for note in view.notes(OPERATOR_POLICIES[name].name)]
    notes.append("kms.tf: moto evaluates no key policy; the operators' key-policy grant is attached as a stand-in")
    notes.append(f"{BOUNDARY.name}: every role gets it (checked), but moto does not evaluate boundaries")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")  # the Lambda roles attach an AWS managed policy
        emulator = iam_emulator.start(
            root,
            {**{name: view.document for name, view in views.items()}, "aipx-stack-key-policy-stand-in": key_policy()},
            {"aipx-workload-boundary": _document(BOUNDARY)},
        )
    try:
        env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
        env.update(
            aipx_providers.environment,
            AWS_ACCESS_KEY_ID=emulator.access_key,
            AWS_SECRET_ACCESS_KEY=emulator.secret_key,
            AWS_REGION=iam_emulator.REGION,
            TF_IN_AUTOMATION="1",
        )
        arguments = [
            "-input=false",
            "-auto-approve",
            f"-var-file={PROJECT_ROOT / 'environments' / 'dev' / 'aws.tfvars'}",
            f"-var=emulator_endpoint={emulator.endpoint}",
            *(f"-target={address}" for address in APPLIED),
        ]

        def terraform(*command: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                ["terraform", *command], cwd=stack, env=env, capture_output=True, text=True, timeout=1200
            )

        init = terraform("init", "-input=false")
        assert init.returncode == 0, init.stderr[-3000:]
        apply = terraform("apply", *arguments)
        boundaries = {}
        if apply.returncode == 0:
            iam = emulator.client("iam")  # as the operator, who may read aipx-* roles but not list all roles
            for name in ROLES:
                found = iam.get_role(RoleName=name)["Role"].get("PermissionsBoundary", {})
                boundaries[name] = found.get("PermissionsBoundaryArn", "")
        destroy = terraform("destroy", *arguments) if apply.returncode == 0 else None
        yield Applied(apply, destroy, boundaries, emulator.decisions(), notes)
    finally:
        emulator.stop()


def test_apply_and_destroy_pass_under_the_operator_policies(applied_as_operator: Applied) -> None:
    run = applied_as_operator
    for note in run.notes:
        print(f"NOT CHECKED BY THE EMULATOR: {note}")
        warnings.warn(f"not checked by the emulator: {note}", UserWarning, stacklevel=1)
    denied = sorted({f"{d['action']} on {d['resource']}" for d in run.decisions if d["decision"] != "allowed"})
    assert not denied, f"AccessDenied under the operator policies: {denied}"
    assert run.apply.returncode == 0, run.apply.stderr[-4000:]
    assert run.destroy is not None and run.destroy.returncode == 0, run.destroy and run.destroy.stderr[-4000:]


def test_every_role_was_created_with_the_boundary(applied_as_operator: Applied) -> None:
    roles = applied_as_operator.boundaries
    assert sorted(roles) == sorted(ROLES)
    assert set(roles.values()) == {"arn:aws:iam::123456789012:policy/aipx-workload-boundary"}, roles


def test_the_apply_exercised_what_it_claims(applied_as_operator: Applied) -> None:
    asked = {d["action"] for d in applied_as_operator.decisions}
    assert not EXERCISED - asked, f"never asked for {sorted(EXERCISED - asked)}"


def test_every_recorded_action_is_granted_by_the_policies_as_written(applied_as_operator: Applied) -> None:
    documents = [*(_document(path) for path in OPERATOR_POLICIES.values()), key_policy()]
    recorded = {(d["action"], d["resource"]) for d in applied_as_operator.decisions}
    not_granted = sorted(
        f"{action} on {resource}"
        for action, resource in recorded
        if action not in NEEDS_NO_GRANT and not _grants(iam_emulator.iam_action(action), resource, documents)
    )
    assert not not_granted, f"recorded actions the policies do not grant: {not_granted}"
