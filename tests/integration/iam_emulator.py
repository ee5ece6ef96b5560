"""A moto server that enforces IAM and records every authorisation it decides, for test_iam_enforced.py and the
emulator lifecycle (test_aipx_lifecycle.py).

moto checks a request against the caller's identity policies once its first INITIAL_NO_AUTH_ACTION_COUNT
requests have passed unauthenticated. The server here uses exactly those requests to set the operator up (a user,
the policies attached, access keys), then every request of the runbook and Terraform is authorised as that user.
The server runs moto's own `moto.server.main` in a separate process on 127.0.0.1; a wrapper around moto's
`IAMRequestBase.check_action_permitted` writes one JSON line per decision (action, resource, allowed or denied):
moto's request log holds no action names.

What moto evaluates (moto 5.2.5, moto/iam/access_control.py): actions with wildcards, Allow and Deny; resources
only for S3 (bucket and object ARNs), and for IAM roles, SQS queues and sts:AssumeRole once they exist (`*`
everywhere else, which no ARN pattern matches); conditions not at all (it has no request context, so every
condition counts as met); no permissions boundaries. `moto_view` turns a policy into what moto can evaluate
and says, statement by statement, what it had to leave unchecked.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

REGION = "ap-northeast-2"
# moto.server, with each authorisation decision appended to the file named by argv[1]
LAUNCHER = """
import json, sys, threading
from moto.iam import access_control
from moto.server import main

record, lock = open(sys.argv[1], "a", buffering=1), threading.Lock()
check = access_control.IAMRequestBase.check_action_permitted

def recorded(self, resource):
    decision = "denied"
    try:
        check(self, resource)
        decision = "allowed"
    finally:
        with lock:
            user = getattr(self._access_key, "_owner_user_name", "")
            entry = {"action": self._action, "resource": resource, "decision": decision, "user": user}
            record.write(json.dumps(entry) + "\\n")

access_control.IAMRequestBase.check_action_permitted = recorded

# moto 5.2.5 computes the signature of a request without a body (a REST GET, HEAD or DELETE, e.g. API Gateway v2's
# reads) over its parsed parameters, which there are its headers, so the client's signature never matches. The
# client signed the empty body; so does this (a fix of moto's check, not a relaxation: a wrong key still fails).
create_request = access_control.IAMRequestBase._create_aws_request

def signed_as_sent(self):
    if not self._body and self._method in ("GET", "HEAD", "DELETE"):
        self._data = b""
    return create_request(self)

access_control.IAMRequestBase._create_aws_request = signed_as_sent
main(sys.argv[2:])
"""
# resources moto names in its authorisation: everything else is checked against "*"
RESOURCE_AWARE = ("s3:",)
# moto's name for an action -> IAM's (moto/s3/responses.py ACTION_MAP names some S3 calls its own way)
MOTO_ACTION_NAMES = {
    "s3:HeadBucket": "s3:ListBucket",
    "s3:GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "s3:PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "s3:DeletePublicAccessBlock": "s3:PutBucketPublicAccessBlock",
}


OBJECT_DELETES = ("s3:DeleteObject", "s3:DeleteObjectVersion")


# API Gateway's IAM actions are HTTP verbs (apigateway:POST on /apis/...); moto names the operation instead.
API_GATEWAY_VERBS = {
    "POST": ("Create", "Tag"),
    "GET": ("Get",),
    "PATCH": ("Update",),
    "DELETE": ("Delete", "Untag"),
    "PUT": ("Import", "Reimport"),
}


def iam_action(moto_action: str) -> str:
    service, _, name = moto_action.partition(":")
    if service == "apigateway":
        for verb, prefixes in API_GATEWAY_VERBS.items():
            if name.startswith(prefixes):
                return f"apigateway:{verb}"
    return MOTO_ACTION_NAMES.get(moto_action, moto_action)


def iam_resource(moto_action: str, resource: str) -> str:
    """The resource IAM checks where moto names `resource`: moto checks a multi-object delete against the bucket
    (arn:aws:s3:::B), AWS each object in it; B/* is granted exactly when deleting any object of B is."""
    if moto_action in OBJECT_DELETES and resource.startswith("arn:aws:s3:::") and "/" not in resource:
        return f"{resource}/*"
    return resource


def moto_names(iam_name: str) -> list[str]:
    """The names moto may ask for where IAM's action is `iam_name`."""
    names = [moto for moto, iam in MOTO_ACTION_NAMES.items() if iam == iam_name]
    service, _, verb = iam_name.partition(":")
    if service == "apigateway" and verb in API_GATEWAY_VERBS:
        names += [f"apigateway:{prefix}*" for prefix in API_GATEWAY_VERBS[verb]]
    return names


def key_policy_statement(kms_tf: str) -> dict[str, Any]:
    """The stack key's key-policy grant to its operators (kms.tf) as an identity statement: moto does not evaluate
    key policies, and the operator policies leave the key to them on purpose."""
    block = kms_tf.split('Sid       = "StackOperatorsAdministerAndUseKey"', 1)[1].split("Resource", 1)[0]
    actions = re.findall(r'"(kms:[A-Za-z*]+)"', block)
    return {"Sid": "StandInForTheStackKeysKeyPolicy", "Effect": "Allow", "Action": actions, "Resource": "*"}


@dataclass
class MotoView:
    """A policy as moto can evaluate it, and what that leaves unchecked."""

    document: dict[str, Any]
    dropped_denies: list[str] = field(default_factory=list)
    unchecked_conditions: list[str] = field(default_factory=list)
    unchecked_resources: list[str] = field(default_factory=list)
    renamed_actions: list[str] = field(default_factory=list)
    bucket_level_deletes: list[str] = field(default_factory=list)

    def notes(self, name: str) -> list[str]:
        notes = []
        if self.dropped_denies:
            notes.append(
                f"{name}: moto cannot evaluate the conditions of the Deny statements {self.dropped_denies} and would "
                "apply them to every request; they are left out, so they are NOT exercised here"
            )
        if self.unchecked_conditions:
            notes.append(
                f"{name}: moto treats every condition as met; NOT checked: the conditions of "
                f"{self.unchecked_conditions}"
            )
        if self.unchecked_resources:
            notes.append(
                f"{name}: moto authorises these services against resource '*', so '*' is added to "
                f"{self.unchecked_resources}; their name-scoped ARNs are NOT checked here (S3 ARNs are)"
            )
        if self.renamed_actions:
            notes.append(
                f"{name}: moto asks for {sorted(set(self.renamed_actions))} under its own names; they are added where "
                "the IAM action is granted (moto also files some S3 configuration calls under s3:ListBucket or "
                "s3:CreateBucket, and names API Gateway operations where IAM has HTTP verbs, so those names are "
                "approximate)"
            )
        if self.bucket_level_deletes:
            notes.append(
                f"{name}: moto authorises a multi-object delete (DeleteObjects: a destroy emptying a bucket) against "
                "the bucket's ARN where AWS checks each object's, so the buckets of the object ARNs are added to "
                f"{self.bucket_level_deletes} (and the recorded bucket ARN is checked as bucket/* against the policy)"
            )
        return notes


def moto_view(document: dict[str, Any]) -> MotoView:
    view = MotoView(copy.deepcopy(document))
    kept = []
    for statement in view.document["Statement"]:
        sid = statement.get("Sid", "?")
        if "Condition" in statement:
            if statement["Effect"] == "Deny":
                view.dropped_denies.append(sid)
                continue
            view.unchecked_conditions.append(sid)
        actions = statement.get("Action", statement.get("NotAction"))
        actions = [actions] if isinstance(actions, str) else actions
        if statement["Effect"] == "Allow":
            for iam_name in {*MOTO_ACTION_NAMES.values(), *(f"apigateway:{verb}" for verb in API_GATEWAY_VERBS)}:
                if any(fnmatch.fnmatchcase(iam_name, a) for a in actions):
                    added = [name for name in moto_names(iam_name) if name not in actions]
                    actions = [*actions, *added]
                    view.renamed_actions += added
            statement["Action"] = actions
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if (
            statement["Effect"] == "Allow"
            and "*" not in resources
            and not all(a.startswith(RESOURCE_AWARE) for a in actions)
        ):
            statement["Resource"] = [*resources, "*"]
            view.unchecked_resources.append(sid)
        elif statement["Effect"] == "Allow" and any(a in OBJECT_DELETES for a in actions):
            buckets = [r.removesuffix("/*") for r in resources if r.endswith("/*")]
            if buckets:
                statement["Resource"] = [*resources, *buckets]
                view.bucket_level_deletes.append(sid)
        kept.append(statement)
    view.document["Statement"] = kept
    return view


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class IamEmulator:
    """A running IAM-enforcing moto server, its operator user's keys and its decision record."""

    endpoint: str
    process: subprocess.Popen[bytes]
    record: Path
    log: Path
    access_key: str = ""
    secret_key: str = ""
    # an administrator (Allow * on *) for what a test does besides the operator's work: seeding, listing leftovers
    admin_key: str = ""
    admin_secret: str = ""

    def admin_client(self, service: str) -> Any:
        if not self.admin_key:
            raise RuntimeError("this emulator was started without an administrator (start(..., administrator=True))")
        return self.client(service, self.admin_key, self.admin_secret)

    def client(self, service: str, access_key: str = "", secret_key: str = "") -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=access_key or self.access_key,
            aws_secret_access_key=secret_key or self.secret_key,
        )

    def decisions(self, user: str = "aipx-operator") -> list[dict[str, str]]:
        """Each authorisation moto decided for `user`'s requests (action, resource, decision)."""
        entries = [json.loads(line) for line in self.record.read_text().splitlines() if line.strip()]
        return [
            {name: entry[name] for name in ("action", "resource", "decision")}
            for entry in entries
            if entry.get("user", "") == user
        ]

    def stop(self) -> None:
        """Killed outright: it keeps nothing a graceful exit would save (each decision is written and flushed as a
        line), and asked to terminate, moto tears its in-memory backends down first (a second or more with the
        lifecycle's two cycles and AWS's managed policies loaded)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, 9)
        self.process.wait(timeout=10)


ADMINISTRATOR_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def start(
    directory: Path,
    operator_policies: dict[str, dict[str, Any]],
    managed_policies: dict[str, dict[str, Any]],
    administrator: bool = False,
) -> IamEmulator:
    """Start the server; create the user `aipx-operator` holding `operator_policies` (attached) and create
    `managed_policies` (e.g. the boundary, attached to nobody) in the account, all unauthenticated; with
    `administrator`, also the user `aipx-administrator` allowed everything (its keys: admin_client)."""
    port = _free_port()
    record, log = directory / "authorisations.jsonl", directory / "moto.log"
    record.touch()
    # the requests below: the user, each managed policy, each operator policy created and attached, the keys;
    # the administrator: its user, its inline policy, its keys
    unauthenticated = 1 + len(managed_policies) + 2 * len(operator_policies) + 1 + (3 if administrator else 0)
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, str(record), "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={
                **os.environ,
                "INITIAL_NO_AUTH_ACTION_COUNT": str(unauthenticated),
                "MOTO_S3_ALLOW_CROSSACCOUNT_ACCESS": "false",
            },
        )
    emulator = IamEmulator(f"http://127.0.0.1:{port}", process, record, log)
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(emulator.endpoint + "/moto-api/", timeout=2).close()
            break
        except urllib.error.HTTPError:
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                emulator.stop()
                raise RuntimeError(f"moto did not start on {emulator.endpoint}: {log.read_text()[-2000:]}") from None
            time.sleep(0.2)
    iam = emulator.client("iam", "bootstrap", "bootstrap")
    iam.create_user(UserName="aipx-operator")
    for name, document in managed_policies.items():
        iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(document))
    for name, document in operator_policies.items():
        arn = iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(document))["Policy"]["Arn"]
        iam.attach_user_policy(UserName="aipx-operator", PolicyArn=arn)
    keys = iam.create_access_key(UserName="aipx-operator")["AccessKey"]
    emulator.access_key, emulator.secret_key = keys["AccessKeyId"], keys["SecretAccessKey"]
    if administrator:
        iam.create_user(UserName="aipx-administrator")
        iam.put_user_policy(
            UserName="aipx-administrator", PolicyName="everything", PolicyDocument=json.dumps(ADMINISTRATOR_POLICY)
        )
        keys = iam.create_access_key(UserName="aipx-administrator")["AccessKey"]
        emulator.admin_key, emulator.admin_secret = keys["AccessKeyId"], keys["SecretAccessKey"]
    return emulator
