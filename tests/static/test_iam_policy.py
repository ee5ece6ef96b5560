"""The operator's IAM policies and the roles' permissions boundary (terraform/aws/iam-*.json), checked by tools that
know IAM (cloudsplaining, parliament: tests/static/policy_audit.py in .venv-policy) and by the rules of
terraform/aws/README.md ("IAM permissions for the operator"). Offline; no AWS account.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import os
import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from paths import PROJECT_ROOT

pytestmark = pytest.mark.static

STACK = PROJECT_ROOT / "terraform" / "aws"
README = STACK / "README.md"
OPERATOR_POLICIES = sorted(STACK.glob("iam-policy*.json"))
BOUNDARY = STACK / "iam-permissions-boundary.json"
AUDITED = [*OPERATOR_POLICIES, BOUNDARY]
AUDIT_SCRIPT = PROJECT_ROOT / "tests" / "static" / "policy_audit.py"
REQUIREMENTS = PROJECT_ROOT / "tests" / "static" / "requirements-policy.txt"
BOUNDARY_NAME = "aipx-workload-boundary"
# cloudsplaining risks that no justification can excuse
NEVER = ("PrivilegeEscalation", "ResourceExposure")
# Role actions that must be conditioned on the boundary (those that take the iam:PermissionsBoundary key).
BOUNDARY_CONDITIONED = {
    "iam:CreateRole",
    "iam:PutRolePolicy",
    "iam:AttachRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary",
}
STATE_BUCKET = "arn:aws:s3:::aipx-terraform-state"
STATE_OBJECT = STATE_BUCKET + "/aws/dev/terraform.tfstate"
# boto3 operations whose IAM action is not the operation's own name
S3_ACTIONS = {
    "head_bucket": "s3:ListBucket",
    "list_buckets": "s3:ListAllMyBuckets",
    "get_bucket_encryption": "s3:GetEncryptionConfiguration",
    "put_bucket_encryption": "s3:PutEncryptionConfiguration",
    "get_public_access_block": "s3:GetBucketPublicAccessBlock",
    "put_public_access_block": "s3:PutBucketPublicAccessBlock",
    "head_object": "s3:GetObject",
    "list_object_versions": "s3:ListBucketVersions",
}


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def statements(paths: list[Path] = OPERATOR_POLICIES) -> list[dict[str, Any]]:
    return [statement for path in paths for statement in json.loads(path.read_text())["Statement"]]


def allowing(action: str, resource: str | None = None, paths: list[Path] = OPERATOR_POLICIES) -> list[dict[str, Any]]:
    """The Allow statements whose actions (and, if given, resources) match, as IAM's wildcards do."""
    found = []
    for statement in statements(paths):
        if statement["Effect"] != "Allow":
            continue
        if not any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in _as_list(statement["Action"])):
            continue
        if resource and not any(fnmatch.fnmatchcase(resource, r) for r in _as_list(statement["Resource"])):
            continue
        found.append(statement)
    return found


# ---- cloudsplaining and parliament --------------------------------------------------------------------------


def policy_python() -> Path:
    configured = os.environ.get("POLICY_AUDIT_PYTHON")
    python = Path(configured) if configured else PROJECT_ROOT / ".venv-policy" / "bin" / "python"
    if not python.is_file():
        pytest.fail(
            f"the policy auditors' Python is not at {python}. Run `make test`, which installs cloudsplaining and "
            f"parliament from {REQUIREMENTS.relative_to(PROJECT_ROOT)} into .venv-policy (or set POLICY_AUDIT_PYTHON)."
        )
    return python


def audit(paths: list[Path]) -> list[dict[str, str]]:
    result = subprocess.run(
        [str(policy_python()), str(AUDIT_SCRIPT), *map(str, paths)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"policy_audit.py failed:\n{result.stderr[-3000:]}"
    return json.loads(result.stdout)


def key(finding: dict[str, str]) -> tuple[str, str, str, str]:
    subject = finding["detail"] if finding["tool"] == "cloudsplaining" else finding["statement"]
    return finding["tool"], finding["file"], finding["finding"], subject


def justified() -> dict[tuple[str, str, str, str], str]:
    """README's table of justified findings: (tool, file, finding, statement or action) -> reason."""
    section = README.read_text().split("### Checked by tools that know IAM", 1)[1].split("\n#", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0] in ("parliament", "cloudsplaining"):
            assert cells[4], f"README lists {cells[:4]} without a reason"
            rows[tuple(cells[:4])] = cells[4]
    return rows


def unexplained(findings: list[dict[str, str]]) -> list[str]:
    """Every finding that must fail the check: an escalation or exposure, or one the README does not justify."""
    allowed = justified()
    return sorted(
        {
            " / ".join(key(f)) + f": {f['detail'][:200]}"
            for f in findings
            if f["finding"] in NEVER or key(f) not in allowed
        }
    )


@cache
def findings_of_the_shipped_policies() -> tuple[dict[str, str], ...]:
    return tuple(audit(AUDITED))


def test_policy_auditors_are_pinned() -> None:
    pins = [line for line in REQUIREMENTS.read_text().splitlines() if line and not line.startswith("#")]
    assert {pin.split("==")[0] for pin in pins} >= {"cloudsplaining", "parliament"}
    assert all(re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.]*", pin) for pin in pins), pins


def test_cloudsplaining_finds_no_privilege_escalation_or_resource_exposure() -> None:
    found = [f for f in findings_of_the_shipped_policies() if f["tool"] == "cloudsplaining" and f["finding"] in NEVER]
    assert not found, f"cloudsplaining: {found}"


def test_every_finding_is_justified_in_the_readme() -> None:
    problems = unexplained(list(findings_of_the_shipped_policies()))
    assert not problems, "\n".join(["findings that terraform/aws/README.md does not justify:", *problems])


def test_every_justification_still_applies() -> None:
    occurring = {key(f) for f in findings_of_the_shipped_policies()}
    stale = sorted(set(justified()) - occurring)
    assert not stale, f"README justifies findings that no longer occur; remove them: {stale}"


def test_a_planted_escalation_fails_the_check(tmp_path: Path) -> None:
    """The check is not blind: the same audit of a copy with an escalation and an exposure added must object."""
    document = json.loads((STACK / "iam-policy.json").read_text())
    document["Statement"].append(
        {"Sid": "Planted", "Effect": "Allow", "Action": ["iam:PutRolePolicy", "s3:PutBucketPolicy"], "Resource": "*"}
    )
    planted = tmp_path / "iam-policy.json"
    planted.write_text(json.dumps(document, indent=2))
    problems = unexplained(audit([planted]))
    assert any("PrivilegeEscalation" in problem for problem in problems), problems
    assert any("ResourceExposure" in problem for problem in problems), problems


# ---- the rules, one by one ----------------------------------------------------------------------------------


def test_every_role_the_operator_may_change_needs_the_boundary() -> None:
    for action in sorted(BOUNDARY_CONDITIONED):
        granting = allowing(action)
        assert granting, f"{action} is not granted"
        for statement in granting:
            condition = json.dumps(statement.get("Condition", {}))
            assert "iam:PermissionsBoundary" in condition and f":policy/{BOUNDARY_NAME}" in condition, (
                f"{statement['Sid']} allows {action} without requiring the boundary {BOUNDARY_NAME}"
            )


def test_boundary_removal_policy_edits_and_assuming_stack_roles_are_denied() -> None:
    denied = {
        action: statement
        for statement in statements()
        if statement["Effect"] == "Deny" and "Action" in statement and "Condition" not in statement
        for action in _as_list(statement["Action"])
    }
    for action in ("iam:DeleteRolePermissionsBoundary", "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion"):
        assert _as_list(denied[action]["Resource"]) == ["*"], action
    assert _as_list(denied["sts:AssumeRole"]["Resource"]) == ["arn:aws:iam::*:role/aipx-*"]
    for action in ("iam:CreatePolicy", "iam:CreatePolicyVersion", "iam:DeleteRolePermissionsBoundary"):
        assert not allowing(action), f"{action} is allowed"


def test_every_role_of_the_stack_carries_the_boundary() -> None:
    roles = {}
    for path in sorted([*STACK.glob("*.tf"), *(STACK / "modules").rglob("*.tf")]):
        for match in re.finditer(r'^resource "aws_iam_role" "(\w+)" \{\n(.*?)^\}', path.read_text(), re.M | re.S):
            roles[f"{path.relative_to(STACK)}: aws_iam_role.{match.group(1)}"] = match.group(2)
    assert len(roles) >= 5, roles
    missing = [address for address, body in roles.items() if not re.search(r"^\s*permissions_boundary\s*=", body, re.M)]
    assert not missing, f"roles without a permissions boundary: {missing}"
    iam_tf = (STACK / "iam.tf").read_text()
    expected = "arn:${local.partition}:iam::${local.account_id}:policy/${var.project}-workload-boundary"
    assert f'permissions_boundary_arn = "{expected}"' in iam_tf
    assert re.search(r'variable "project" \{[^}]*default\s*=\s*"aipx"', (STACK / "variables.tf").read_text()), (
        "the operator policy names aipx-workload-boundary"
    )


def test_boundary_is_a_ceiling_without_iam_or_direct_key_use() -> None:
    boundary = statements([BOUNDARY])
    actions = {action for statement in boundary for action in _as_list(statement["Action"])}
    assert not [a for a in actions if a.startswith(("iam:", "sts:", "kms:Create", "kms:Put"))], actions
    assert all(statement["Effect"] == "Allow" for statement in boundary)
    for statement in boundary:
        if any(a.startswith("kms:") for a in _as_list(statement["Action"])):
            assert "kms:ViaService" in json.dumps(statement.get("Condition")), statement["Sid"]
    assert "kafka-cluster:WriteDataIdempotently" in actions, "idempotent producers (Kafka clients >= 3.0) need it"


def test_no_kms_permission_depends_on_a_tag() -> None:
    """Tagging a foreign key Project=aipx must not pull it into the stack: nothing is granted by resource tag."""
    for statement in statements():
        if statement["Effect"] == "Allow" and any(a.startswith("kms:") for a in _as_list(statement["Action"])):
            assert "aws:ResourceTag" not in json.dumps(statement.get("Condition", {})), statement["Sid"]
            for action in [a for a in _as_list(statement["Action"]) if a.startswith("kms:")]:
                assert action in ("kms:CreateKey", "kms:TagResource", "kms:ListAliases") or action.endswith("Alias"), (
                    f"{statement['Sid']}: {action} belongs in the key policy (kms.tf), not in an IAM policy"
                )
    key_policy = (STACK / "kms.tf").read_text()
    assert "StackOperatorsAdministerAndUseKey" in key_policy and "kms:RetireGrant" in key_policy


def test_route53_only_through_cloud_map_and_only_the_stacks_names() -> None:
    granting = [
        s for s in statements() if s["Effect"] == "Allow" and any(a.startswith("route53:") for a in s["Action"])
    ]
    assert granting
    for statement in granting:
        assert statement["Condition"]["Bool"]["aws:ViaAWSService"] == "true", statement["Sid"]
        if "route53:ChangeResourceRecordSets" in statement["Action"]:
            names = statement["Condition"]["ForAllValues:StringLike"][
                "route53:ChangeResourceRecordSetsNormalizedRecordNames"
            ]
            assert all(".internal" in name and "aipx-" in name for name in names)


def test_state_history_cannot_be_deleted_or_expired() -> None:
    for action in ("s3:DeleteObjectVersion", "s3:DeleteObject", "s3:PutLifecycleConfiguration", "s3:DeleteBucket"):
        target = STATE_BUCKET if action.endswith(("Configuration", "Bucket")) else STATE_OBJECT
        if action == "s3:DeleteBucket":
            continue  # the bucket cannot be deleted while it holds versions; stage 01 never deletes it
        assert not allowing(action, target), f"{action} reaches {target}"
    assert allowing("s3:DeleteObject", STATE_OBJECT + ".tflock"), "lockfile locking releases its lock object"
    data_lake_object = "arn:aws:s3:::aipx-dev-data-lake-123456789012/x"
    assert allowing("s3:DeleteObjectVersion", data_lake_object), "a non-production destroy empties the data lake"


def test_name_scoped_statements_cover_what_the_stack_names() -> None:
    """Every name-scoped ARN pattern must match the names the stack really gives (terraform/aws/*.tf)."""
    examples = {
        "ecs:CreateCluster": "arn:aws:ecs:ap-northeast-2:123456789012:cluster/aipx-dev",
        "ecs:CreateService": "arn:aws:ecs:ap-northeast-2:123456789012:service/aipx-dev/oms",
        "ecs:RegisterTaskDefinition": "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/aipx-dev-oms:1",
        "elasticache:CreateReplicationGroup": "arn:aws:elasticache:ap-northeast-2:1:replicationgroup:aipx-dev",
        "elasticache:CreateUser": "arn:aws:elasticache:ap-northeast-2:123456789012:user:aipx-dev-default",
        "kafka:CreateClusterV2": "arn:aws:kafka:ap-northeast-2:123456789012:cluster/aipx-dev/uuid",
        "kafka:CreateConfiguration": "arn:aws:kafka:ap-northeast-2:123456789012:configuration/aipx-dev/uuid",
        "rds:CreateDBInstance": "arn:aws:rds:ap-northeast-2:123456789012:db:aipx-dev-postgres",
        "rds:CreateDBParameterGroup": "arn:aws:rds:ap-northeast-2:123456789012:pg:aipx-dev-postgres16",
        "rds:CreateDBSnapshot": "arn:aws:rds:ap-northeast-2:123456789012:snapshot:aipx-dev-postgres-final",
        "ecr:CreateRepository": "arn:aws:ecr:ap-northeast-2:123456789012:repository/aipx-dev/oms",
        "lambda:CreateFunction": "arn:aws:lambda:ap-northeast-2:123456789012:function:aipx-dev-cognitive",
        "sqs:CreateQueue": "arn:aws:sqs:ap-northeast-2:123456789012:aipx-dev-lambda-dead-letter",
        "logs:CreateLogGroup": "arn:aws:logs:ap-northeast-2:123456789012:log-group:/aws/vpc-flow-log/aipx-dev",
        "iam:GetRole": "arn:aws:iam::123456789012:role/aipx-dev-oms-task",
        "s3:CreateBucket": "arn:aws:s3:::aipx-dev-data-lake-123456789012",
        "dynamodb:CreateTable": "arn:aws:dynamodb:ap-northeast-2:123456789012:table/aipx-terraform-locks",
        "kms:CreateAlias": "arn:aws:kms:ap-northeast-2:123456789012:alias/aipx-dev",
    }
    for action, arn in examples.items():
        assert allowing(action, arn), f"no statement allows {action} on {arn}"
    for type_ in ("ecs", "elasticache", "kafka", "rds", "ecr", "lambda", "sqs"):
        for statement in statements():
            if statement["Effect"] == "Allow" and any(a.startswith(type_ + ":") for a in statement["Action"]):
                wide = [r for r in _as_list(statement["Resource"]) if r == "*"]
                exempt = statement["Sid"] in ("ReadOnly", "EcsTaskDefinitionRevisions")  # no resource type
                assert not wide or "Condition" in statement or exempt, f"{statement['Sid']}: {type_} on * unconditioned"


def _backend_calls() -> set[str]:
    """The boto3 operations stage 01 (lib/aipx_runbook/backend.py and the modules of its resources) calls on its
    S3 and DynamoDB clients."""
    library = PROJECT_ROOT / "lib" / "aipx_runbook"
    modules = ("backend.py", "backend_settings.py", "state_bucket.py", "lock_table.py")
    calls = set()
    for node in (node for name in modules for node in ast.walk(ast.parse((library / name).read_text()))):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr in ("s3", "dynamodb")
            and not node.attr.startswith(("get_waiter", "get_paginator"))
        ):
            calls.add(f"{node.value.attr}.{node.attr}")
    return calls


def _iam_action(call: str) -> str:
    service, operation = call.split(".")
    if service == "s3" and operation in S3_ACTIONS:
        return S3_ACTIONS[operation]
    return f"{service}:{''.join(part.capitalize() for part in operation.split('_'))}"


def test_every_call_of_the_backend_stage_is_granted() -> None:
    calls = _backend_calls()
    assert {"dynamodb.list_tags_of_resource", "dynamodb.update_table", "s3.put_bucket_policy"} <= calls, calls
    lock_table = "arn:aws:dynamodb:ap-northeast-2:123456789012:table/aipx-terraform-locks"
    resources = {"s3": STATE_BUCKET, "dynamodb": lock_table}
    missing = [
        f"{call} ({_iam_action(call)})"
        for call in sorted(calls)
        if not allowing(_iam_action(call), None if call == "s3.list_buckets" else resources[call.split(".")[0]])
    ]
    assert not missing, f"stage 01 calls what the operator policies do not grant: {missing}"
