"""The operator policies proven by use: the runbook's stages 00-03 of the AIPX stack, run with `aipx-runbook run` as
an emulator user that holds the policies of terraform/aws/iam-policy*.json, against a moto server that enforces IAM
(tests/integration/iam_emulator.py). Any AccessDenied fails the run and is named; every authorisation moto decides
is recorded, and the recorded actions are checked against the policies as written.

moto evaluates far less than AWS: no conditions, resources only for S3 (see iam_emulator.py). What it cannot check
is printed and raised as a pytest warning, statement by statement, rather than passing silently; the first test
shows that moto cannot evaluate the policies as written at all.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import subprocess
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import iam_emulator
import pytest

from aipx_runbook import stages, state_restore
from aipx_runbook.local_credentials import ACCESS_KEY_VARIABLE, SECRET_KEY_VARIABLE
from paths import PROJECT_ROOT
from terraform_mirror import ProviderInstallation

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("iam_enforced")]

STACK = PROJECT_ROOT / "terraform" / "aws"
OPERATOR_POLICIES = {
    f"aipx-terraform-operator{p.stem.removeprefix('iam-policy')}": p for p in sorted(STACK.glob("iam-policy*.json"))
}
BOUNDARY = STACK / "iam-permissions-boundary.json"
STAGES = "00,01,02,03"
# Recorded actions that the policies need not grant, each with the reason.
NEEDS_NO_GRANT = {"sts:GetCallerIdentity": "AWS answers GetCallerIdentity for every caller; no policy can deny it"}
# What a run of stages 00-03 must have asked for, or the test proves nothing.
# (On target local stage 01 writes no TLS-only bucket policy, which moto would apply without its condition.)
EXERCISED = {
    "sts:GetCallerIdentity",  # 00 credentials
    "s3:CreateBucket",  # 01 state bucket
    "s3:PutBucketVersioning",  # 01 state history
    "dynamodb:CreateTable",  # 01 lock table
    "dynamodb:UpdateContinuousBackups",  # 01 lock table recovery
    "dynamodb:ListTagsOfResource",  # 01 lock table check
    "dynamodb:PutItem",  # 02/03 the state lock
    "dynamodb:DeleteItem",  # 02/03 the lock released
    "s3:GetObject",  # 02/03 the state
    "ec2:DescribeAvailabilityZones",  # 03 terraform plan
}


def _document(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def key_policy() -> dict[str, Any]:
    """What the stack key's key policy grants the operators (kms.tf), as a policy document."""
    statement = iam_emulator.key_policy_statement((STACK / "kms.tf").read_text())
    return {"Version": "2012-10-17", "Statement": [statement]}


@dataclass
class EnforcedRun:
    returncode: int
    output: str
    decisions: list[dict[str, str]]
    notes: list[str]
    emulator: iam_emulator.IamEmulator
    env: dict[str, str]


def _copy_project(root: Path) -> Path:
    shutil.copytree(PROJECT_ROOT / "environments", root / "environments")
    shutil.copytree(PROJECT_ROOT / "notebooks", root / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copytree(
        STACK,
        root / "terraform" / "aws",
        ignore=shutil.ignore_patterns(".terraform", ".terraform.lock.hcl", "*.tfstate*", "*.tfplan"),
    )
    return root


@pytest.fixture(scope="module")
def enforced_run(
    aipx_providers: ProviderInstallation, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EnforcedRun]:
    """dev through stages 00-03 on the AIPX stack, as the emulator user holding the operator policies."""
    root = tmp_path_factory.mktemp("iam-enforced")
    project, workspace = _copy_project(root / "project"), root / "workspace"
    (workspace / ".aipx").mkdir(parents=True)
    views = {name: iam_emulator.moto_view(_document(path)) for name, path in OPERATOR_POLICIES.items()}
    notes = [note for name, view in views.items() for note in view.notes(OPERATOR_POLICIES[name].name)]
    notes.append(
        f"{BOUNDARY.name}: created as the managed policy aipx-workload-boundary; moto does not evaluate "
        "permissions boundaries, and stages 00-03 create no role"
    )
    notes.append(
        "kms.tf: moto does not evaluate key policies; the key policy's grant to the operators is attached to the "
        "user as a stand-in identity policy"
    )
    emulator = iam_emulator.start(
        root,
        {**{name: view.document for name, view in views.items()}, "aipx-stack-key-policy-stand-in": key_policy()},
        {"aipx-workload-boundary": _document(BOUNDARY)},
    )
    try:
        # The runbook finds a running emulator through <workspace>/.aipx/emulator.json and leaves it running.
        (workspace / ".aipx" / "emulator.json").write_text(
            json.dumps({"endpoint": emulator.endpoint, "pid": emulator.process.pid, "log_file": str(emulator.log)})
        )
        env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
        env.update(aipx_providers.environment)
        env.update(
            AIPX_WORKSPACE=str(workspace),
            AIPX_PROJECT_ROOT=str(project),
            AWS_ACCESS_KEY_ID="AKIASTRAYSHELLKEY",  # a stray shell key: target local must not use it
            AWS_SECRET_ACCESS_KEY="stray",
            **{ACCESS_KEY_VARIABLE: emulator.access_key, SECRET_KEY_VARIABLE: emulator.secret_key},
        )
        command = [str(Path(sys.executable).with_name("aipx-runbook")), "run", "--env", "dev", "--target", "local"]
        result = subprocess.run(
            [*command, "--stack", "aipx", "--stages", STAGES],
            env=env,
            cwd=project,
            capture_output=True,
            text=True,
            timeout=900,
        )
        yield EnforcedRun(result.returncode, result.stdout + result.stderr, emulator.decisions(), notes, emulator, env)
    finally:
        emulator.stop()


def _grants(action: str, resource: str, documents: list[dict[str, Any]]) -> bool:
    """Whether an Allow of the policies as written matches the action (and, for S3, the resource moto names)."""
    for document in documents:
        for statement in document["Statement"]:
            actions = statement.get("Action", [])
            resources = statement["Resource"]
            actions, resources = (
                ([actions] if isinstance(actions, str) else actions),
                ([resources] if isinstance(resources, str) else resources),
            )
            if statement["Effect"] != "Allow" or not any(fnmatch.fnmatchcase(action, a) for a in actions):
                continue
            if resource == "*" or any(fnmatch.fnmatchcase(resource, r) for r in resources):
                return True
    return False


def denials(decisions: list[dict[str, str]]) -> list[str]:
    """Each action (and resource) moto refused, once."""
    return sorted({f"{d['action']} on {d['resource']}" for d in decisions if d["decision"] != "allowed"})


def ungranted(decisions: list[dict[str, str]]) -> list[str]:
    """Each recorded action (and resource) that no Allow of the policies as written grants (NEEDS_NO_GRANT aside)."""
    documents = [*(_document(path) for path in OPERATOR_POLICIES.values()), key_policy()]
    return sorted(
        {
            f"{d['action']} on {d['resource']}"
            for d in decisions
            if d["action"] not in NEEDS_NO_GRANT
            and not _grants(
                iam_emulator.iam_action(d["action"]), iam_emulator.iam_resource(d["action"], d["resource"]), documents
            )
        }
    )


def test_moto_cannot_evaluate_the_policies_as_written(tmp_path: Path) -> None:
    """Attached unchanged, the region Deny (its condition unevaluated) refuses everything: hence the moto view."""
    emulator = iam_emulator.start(tmp_path, {name: _document(path) for name, path in OPERATOR_POLICIES.items()}, {})
    try:
        with pytest.raises(Exception, match="AccessDenied"):
            emulator.client("ec2").describe_regions()
        with pytest.raises(Exception, match="AuthFailure|InvalidClientTokenId"):
            emulator.client("ec2", "testing", "testing").describe_regions()
        assert emulator.decisions() == [{"action": "ec2:DescribeRegions", "resource": "*", "decision": "denied"}]
    finally:
        emulator.stop()


def test_stages_00_to_03_pass_under_the_operator_policies(enforced_run: EnforcedRun) -> None:
    for note in enforced_run.notes:
        print(f"NOT CHECKED BY THE EMULATOR: {note}")
        warnings.warn(f"not checked by the emulator: {note}", UserWarning, stacklevel=1)
    denied = sorted({f"{d['action']} on {d['resource']}" for d in enforced_run.decisions if d["decision"] != "allowed"})
    assert not denied, f"AccessDenied under the operator policies: {denied}\n{enforced_run.output[-3000:]}"
    assert enforced_run.returncode == 0, enforced_run.output[-4000:]


def test_the_run_exercised_the_backend_and_terraform(enforced_run: EnforcedRun) -> None:
    asked = {d["action"] for d in enforced_run.decisions}
    assert not EXERCISED - asked, f"the run never asked for {sorted(EXERCISED - asked)}: it proves less than it claims"


def test_every_recorded_action_is_granted_by_the_policies_as_written(enforced_run: EnforcedRun) -> None:
    print("recorded actions:", sorted({d["action"] for d in enforced_run.decisions}))
    not_granted = ungranted(enforced_run.decisions)
    assert not not_granted, f"recorded actions the policies do not grant: {not_granted}"


def test_the_recorded_actions_check_names_what_the_policies_do_not_grant() -> None:
    """The check above can fail: recorded actions outside the policies (or outside their resources) are named."""
    account = "123456789012"
    recorded = [
        {"action": "iam:CreateUser", "resource": "*", "decision": "allowed"},
        {"action": "s3:DeleteObjectVersion", "resource": "arn:aws:s3:::aipx-terraform-state", "decision": "allowed"},
        {"action": "s3:DeleteObject", "resource": f"arn:aws:s3:::aipx-staging-data-lake-{account}", "decision": "x"},
        {"action": "s3:HeadBucket", "resource": "arn:aws:s3:::aipx-terraform-state", "decision": "allowed"},
        {"action": "sts:GetCallerIdentity", "resource": "*", "decision": "allowed"},
    ]
    assert ungranted(recorded) == [
        "iam:CreateUser on *",
        "s3:DeleteObjectVersion on arn:aws:s3:::aipx-terraform-state",
    ]


def _state_file(serial: int, which: str) -> bytes:
    return json.dumps(
        {
            "version": 4,
            "terraform_version": "1.11.4",
            "serial": serial,
            "lineage": "aipx-restore-test",
            "outputs": {"which": {"value": which, "type": "string"}},
            "resources": [],
            "check_results": None,
        }
    ).encode()


@pytest.mark.skipif(shutil.which("aws") is None, reason="the restore steps stage 07 prints use the AWS CLI")
def test_the_state_restore_steps_run_as_the_operator_and_print_no_key(
    enforced_run: EnforcedRun, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Stage 07's restore steps, run in a shell that holds the opt-in keys (and a stray AWS key), restore an earlier
    state version through the IAM-enforcing emulator; the printed steps name the keys' variables, not their values."""
    emulator = enforced_run.emulator
    for name in (ACCESS_KEY_VARIABLE, SECRET_KEY_VARIABLE, "AIPX_WORKSPACE", "AIPX_PROJECT_ROOT"):
        monkeypatch.setenv(name, enforced_run.env[name])
    ctx = stages.start("state", environment="dev", target="local", stack="aipx", run_dir=str(tmp_path))
    s3 = emulator.client("s3")
    for serial, which in ((1, "restored"), (2, "current")):
        s3.put_object(Bucket=ctx.settings.state_bucket, Key=ctx.settings.state_key, Body=_state_file(serial, which))
    before = len(emulator.decisions())
    report = stages.state_versions(ctx)
    printed = "\n".join(report.notes)
    assert "terraform state push -force" in printed
    assert emulator.access_key not in printed and emulator.secret_key not in printed
    assert f'AWS_SECRET_ACCESS_KEY="${SECRET_KEY_VARIABLE}"' in printed
    earlier = report.tables[0].rows[1][1]
    steps = [command for command, _ in state_restore.restore_steps(ctx, earlier)][:-2]  # not the cleanup nor the plan
    script = "set -euo pipefail\n" + "\n".join(steps) + '\necho PULLED\nterraform state pull\nrm -r "$RESTORE"\n'
    completed = subprocess.run(
        ["bash", "-c", script], env=enforced_run.env, capture_output=True, text=True, timeout=300
    )
    decisions = emulator.decisions()[before:]
    assert not denials(decisions), f"AccessDenied under the operator policies: {denials(decisions)}\n{completed.stderr}"
    assert completed.returncode == 0, completed.stderr[-3000:]
    pulled = json.loads(completed.stdout.split("PULLED\n", 1)[1])
    assert pulled["outputs"]["which"]["value"] == "restored"
    assert not ungranted(decisions), f"recorded actions the policies do not grant: {ungranted(decisions)}"
