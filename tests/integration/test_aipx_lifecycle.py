"""The AIPX stack applied, verified, destroyed, applied and destroyed again on the moto server, through the
runbook's stages (tests/aipx_lifecycle.py), for staging: its sizing keeps a final database snapshot and
versioned buckets, so a fixed snapshot name or a bucket that cannot be emptied fails the second cycle.

Every stage runs as the operator: the emulator enforces IAM (tests/integration/iam_emulator.py), the runbook signs
with the keys of an emulator user holding exactly terraform/aws/iam-policy*.json (as moto can evaluate them) and
the permissions boundary exists as the managed policy it is in AWS. Any AccessDenied fails the run and is named,
and every recorded action must be granted by the policies as written. What moto cannot evaluate is printed and
warned about (as in test_iam_enforced.py). The test's own work (seeding data, listing leftovers) is an
administrator's. moto runs with MOTO_IAM_LOAD_MANAGED_POLICIES=true (the Lambda roles attach
AWSLambdaENIManagementAccess). What moto cannot create is left out (aipx_lifecycle.EXCLUDED).

Terraform runs with `-parallelism=30` (TF_CLI_ARGS_plan/apply, as an operator may set them): most of a cycle is
the AWS provider's fixed waits (the database: a minute before its first poll, on create and on delete), and more
parallel calls start the database's create and delete sooner.
"""

from __future__ import annotations

import json
import shutil
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import iam_emulator
import pytest
from test_iam_enforced import BOUNDARY, OPERATOR_POLICIES, _document, denials, key_policy, ungranted

from aipx_lifecycle import EXCLUDED, EXPECTED_DEPENDENTS, Cycle, backend_present, final_snapshots, run_cycle
from aipx_runbook import stages
from aipx_runbook.local_credentials import ACCESS_KEY_VARIABLE, SECRET_KEY_VARIABLE
from paths import PROJECT_ROOT
from terraform_mirror import ProviderInstallation

# Its own xdist group: it runs beside the rest of `make test` (mostly waiting on the provider; `make test-lifecycle`
# runs it alone).
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("aipx_lifecycle")]

ENVIRONMENT = "staging"
PARALLELISM = "-parallelism=30"
# every role of the stack (compute.tf, functions.tf, database.tf, modules/vpc)
ROLES = (
    "aipx-staging-ecs-execution",
    "aipx-staging-data-ingestion-task",
    "aipx-staging-oms-task",
    "aipx-staging-rds-monitoring",
    "aipx-staging-vpc-flow-log",
    *(f"aipx-staging-{function}-lambda" for function in ("strategy-worker", "cognitive", "notification", "recorder")),
)
BOUNDARY_ARN = "arn:aws:iam::123456789012:policy/aipx-workload-boundary"
# What the lifecycle must have asked for as the operator, or it proves less than it claims.
EXERCISED = {
    "s3:CreateBucket",  # stage 01 and the stack's buckets
    "dynamodb:CreateTable",  # stage 01
    "ec2:CreateVpc",
    "ec2:CreateNatGateway",
    "kms:CreateKey",
    "kms:ScheduleKeyDeletion",
    "iam:CreateRole",
    "iam:DeleteRole",
    "rds:CreateDBInstance",
    "rds:DeleteDBInstance",
    "s3:DeleteBucket",
    "ecr:DeleteRepository",
    "apigateway:POST",  # the HTTP API (moto: CreateApi)
    "elasticache:CreateUser",
    "ecs:CreateCluster",
    "logs:CreateLogGroup",
    "ec2:CreateFlowLogs",
    "ec2:DeleteVpc",
    "kms:CreateAlias",
    "iam:AttachRolePolicy",
    "iam:PutRolePolicy",
    "s3:PutBucketPolicy",
    "sqs:CreateQueue",
    "ecr:CreateRepository",
    "servicediscovery:CreatePrivateDnsNamespace",
    "rds:CreateDBParameterGroup",
}


@dataclass
class Lifecycle:
    cycles: tuple[Cycle, Cycle]
    snapshots: tuple[list[str], list[str]]
    backend_missing: list[str]
    decisions: list[dict[str, str]]
    notes: list[str]


@pytest.fixture(scope="module")
def lifecycle(aipx_providers: ProviderInstallation, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lifecycle]:
    root = tmp_path_factory.mktemp("aipx-lifecycle")
    project, workspace = root / "project", root / "workspace"
    shutil.copytree(PROJECT_ROOT / "environments", project / "environments")
    shutil.copytree(
        PROJECT_ROOT / "terraform" / "aws",
        project / "terraform" / "aws",
        ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", "*.tfplan"),
    )
    (workspace / ".aipx").mkdir(parents=True)
    views = {name: iam_emulator.moto_view(_document(path)) for name, path in OPERATOR_POLICIES.items()}
    notes = [note for name, view in views.items() for note in view.notes(OPERATOR_POLICIES[name].name)]
    notes.append(
        "kms.tf: moto does not evaluate key policies; the key policy's grant to the operators is attached to the "
        "user as a stand-in identity policy"
    )
    notes.append(f"{BOUNDARY.name}: every role of the stack names it, but moto does not evaluate boundaries")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")  # read by the emulator process at its start
        emulator = iam_emulator.start(
            root,
            {**{name: view.document for name, view in views.items()}, "aipx-stack-key-policy-stand-in": key_policy()},
            {"aipx-workload-boundary": _document(BOUNDARY)},
            administrator=True,
        )
        try:
            # The runbook finds the running emulator through <workspace>/.aipx/emulator.json and leaves it running.
            (workspace / ".aipx" / "emulator.json").write_text(
                json.dumps({"endpoint": emulator.endpoint, "pid": emulator.process.pid, "log_file": str(emulator.log)})
            )
            patch.setenv("AIPX_PROJECT_ROOT", str(project))
            patch.setenv("AIPX_WORKSPACE", str(workspace))
            patch.setenv("AIPX_HEADLESS", "1")
            patch.setenv(ACCESS_KEY_VARIABLE, emulator.access_key)
            patch.setenv(SECRET_KEY_VARIABLE, emulator.secret_key)
            patch.setenv("TF_CLI_ARGS_plan", PARALLELISM)
            patch.setenv("TF_CLI_ARGS_apply", PARALLELISM)
            for name, value in aipx_providers.environment.items():
                patch.setenv(name, value)
            run_dir = root / "runs"
            ctx = stages.start("backend", environment=ENVIRONMENT, target="local", stack="aipx", run_dir=str(run_dir))
            started = time.monotonic()
            stages.backend_setup(ctx)
            stages.init(
                stages.start("init", environment=ENVIRONMENT, target="local", stack="aipx", run_dir=str(run_dir))
            )
            setup = round(time.monotonic() - started, 1)
            admin = emulator.admin_client
            try:
                first = run_cycle(ENVIRONMENT, run_dir / "1", admin)
                snapshots_after_first = final_snapshots(admin, ENVIRONMENT)
                second = run_cycle(ENVIRONMENT, run_dir / "2", admin)
            except Exception as error:
                denied = denials(emulator.decisions()) or "none"
                raise AssertionError(f"the lifecycle failed (AccessDenied as the operator: {denied})") from error
            # Measured, not asserted (load varies): shown with -s, and in the report of a failing run.
            print(f"\nlifecycle seconds: stages 01-02 {setup}, cycle 1 {first.seconds}, cycle 2 {second.seconds}")
            yield Lifecycle(
                (first, second),
                (snapshots_after_first, final_snapshots(admin, ENVIRONMENT)),
                backend_present(admin, ctx),
                emulator.decisions(),
                notes,
            )
        finally:
            emulator.stop()


def test_each_plan_leaves_out_exactly_what_moto_cannot_run(lifecycle: Lifecycle) -> None:
    for cycle in lifecycle.cycles:
        assert cycle.plan.facts["excluded"] == list(EXCLUDED)
        assert sorted(cycle.plan.facts["left_out"]) == sorted([*EXCLUDED, *EXPECTED_DEPENDENTS])
        assert cycle.plan.facts["add"] > 100, "everything else of the stack is applied"
        assert cycle.apply.facts["applied"] is True


def test_verify_passes_or_skips_every_output_with_a_reason(lifecycle: Lifecycle) -> None:
    for cycle in lifecycle.cycles:
        assert cycle.verify.facts["checks_failed"] == 0
        assert cycle.verify.facts["checks_passed"] >= 10
        [table] = cycle.verify.tables
        for check, _outputs, result, reason in table.rows:
            assert result in ("PASS", "SKIP") and reason, f"{check}: {result} without a reason"


def test_destroy_empties_buckets_and_repositories_and_leaves_nothing(lifecycle: Lifecycle) -> None:
    for number, cycle in enumerate(lifecycle.cycles, start=1):
        assert all(count >= 1 for count in cycle.seeded.values()) and len(cycle.seeded) == 4, cycle.seeded
        assert cycle.destroy.facts["destroyed"] is True
        assert cycle.leftovers == [], f"cycle {number}: the emulator still holds {cycle.leftovers}"


def test_every_role_of_the_stack_was_created_with_the_boundary(lifecycle: Lifecycle) -> None:
    for cycle in lifecycle.cycles:
        assert sorted(cycle.boundaries) == sorted(ROLES)
        assert set(cycle.boundaries.values()) == {BOUNDARY_ARN}, cycle.boundaries


def test_every_destroy_keeps_its_own_final_snapshot(lifecycle: Lifecycle) -> None:
    after_first, after_second = lifecycle.snapshots
    assert len(after_first) == 1
    assert len(after_second) == 2 and after_first[0] in after_second


def test_the_backend_survives_both_destroys(lifecycle: Lifecycle) -> None:
    assert lifecycle.backend_missing == []


def test_the_operator_was_denied_nothing(lifecycle: Lifecycle) -> None:
    for note in lifecycle.notes:
        print(f"NOT CHECKED BY THE EMULATOR: {note}")
        warnings.warn(f"not checked by the emulator: {note}", UserWarning, stacklevel=1)
    assert not denials(lifecycle.decisions), f"AccessDenied under the operator policies: {denials(lifecycle.decisions)}"
    asked = {iam_emulator.iam_action(d["action"]) for d in lifecycle.decisions}
    assert not EXERCISED - asked, f"the lifecycle never asked for {sorted(EXERCISED - asked)}"


def test_every_recorded_action_is_granted_by_the_policies_as_written(lifecycle: Lifecycle) -> None:
    not_granted = ungranted(lifecycle.decisions)
    assert not not_granted, f"recorded actions the policies do not grant: {not_granted}"
