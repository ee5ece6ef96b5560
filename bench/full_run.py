"""Benchmark: what the runbook adds to Terraform's own time, measured side by side in alternating rounds.

(a) Stage 03 on the AIPX stack (terraform/aws, dev) through `aipx-runbook run --stages plan` against the same
    `terraform plan -out` command line plus one `terraform show -json`, run directly on the same emulator, the
    same TF_DATA_DIR and the same backend. Needs the hashicorp/aws provider from a filesystem mirror (or the
    registry): where none is available this half says so and is skipped.
(b) The full headless dev run on the smoke stack (`aipx-runbook run --env dev`, stages 00-06) against a plain
    script that starts a moto server, makes the backend stage's boto3 calls and runs stages 02-06's commands.

Each round runs the two sides of a pair one after the other (the order alternating), so load on a shared
machine hits both alike; the medians and their ratios are printed, then where the runbook's time goes per
stage, from the timings the library records in summary.json (kernel start, imports, terraform, aws, review,
rendering, emulator start, other), and the runner's own time outside the stages.

    make bench                          # 5 rounds of each
    python bench/full_run.py --rounds 3 --only smoke
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import figures
from figures import Measured, load_average, markdown, report

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the tests' shared modules
from paths import PROJECT_ROOT  # noqa: E402

SMOKE = PROJECT_ROOT / "terraform" / "smoke"
BUCKET, TABLE, KEY, REGION = (
    "aipx-terraform-state",
    "aipx-terraform-locks",
    "smoke/dev/terraform.tfstate",  # the smoke stack's own state key
    "ap-northeast-2",
)
CLI = str(Path(sys.executable).parent / "aipx-runbook")


def runbook_cli(env: dict[str, str], *arguments: str) -> tuple[float, dict[str, Any]]:
    """One `aipx-runbook run` invocation, timed whole; its summary.json."""
    started = time.perf_counter()
    completed = subprocess.run([CLI, "run", *arguments], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"aipx-runbook run {' '.join(arguments)} failed:\n{completed.stdout}\n{completed.stderr}")
    runs = sorted((Path(env["AIPX_WORKSPACE"]) / "runs" / "dev").glob("*/summary.json"), key=os.path.getmtime)
    return seconds, json.loads(runs[-1].read_text())


# ---- (b) the full dev run on the smoke stack --------------------------------------------------------------


def smoke_runbook_once() -> tuple[float, dict[str, Any]]:
    with tempfile.TemporaryDirectory() as workspace:
        env = {**os.environ, "AIPX_WORKSPACE": workspace, "AIPX_PROJECT_ROOT": str(PROJECT_ROOT)}
        return runbook_cli(env, "--env", "dev", "-p", "auto_approve=True", "-p", "confirm=dev")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def smoke_direct_once() -> float:
    with tempfile.TemporaryDirectory() as workspace:
        started = time.perf_counter()
        port = _free_port()
        endpoint = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            while True:
                try:
                    urllib.request.urlopen(endpoint + "/moto-api/data.json", timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.05)
            session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
            s3 = session.client("s3", endpoint_url=endpoint)
            dynamodb = session.client("dynamodb", endpoint_url=endpoint)
            session.client("sts", endpoint_url=endpoint).get_caller_identity()
            s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
            s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
            s3.put_bucket_encryption(
                Bucket=BUCKET,
                ServerSideEncryptionConfiguration={
                    "Rules": [
                        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True}
                    ]
                },
            )
            s3.put_public_access_block(
                Bucket=BUCKET,
                PublicAccessBlockConfiguration={
                    "BlockPublicAcls": True,
                    "IgnorePublicAcls": True,
                    "BlockPublicPolicy": True,
                    "RestrictPublicBuckets": True,
                },
            )
            dynamodb.create_table(
                TableName=TABLE,
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
            )
            env = {
                **os.environ,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_REGION": REGION,
                "TF_DATA_DIR": str(Path(workspace) / "tf"),
                "TF_IN_AUTOMATION": "1",
            }
            plan = str(Path(workspace) / "tfplan")

            def terraform(*args: str) -> None:
                subprocess.run(["terraform", *args], cwd=SMOKE, env=env, check=True, capture_output=True)

            terraform(
                "init",
                "-input=false",
                "-reconfigure",
                f"-backend-config=bucket={BUCKET}",
                f"-backend-config=key={KEY}",
                f"-backend-config=region={REGION}",
                f"-backend-config=dynamodb_table={TABLE}",
                "-backend-config=encrypt=true",
                f'-backend-config=endpoints={{s3="{endpoint}",dynamodb="{endpoint}"}}',
                "-backend-config=use_path_style=true",
                "-backend-config=skip_credentials_validation=true",
                "-backend-config=skip_requesting_account_id=true",
                "-backend-config=skip_region_validation=true",
            )
            terraform("plan", "-input=false", "-var", "environment=dev", "-out", plan)
            terraform("show", "-json", plan)
            terraform("apply", "-input=false", plan)
            terraform("output", "-json")
            terraform("plan", "-input=false", "-destroy", "-var", "environment=dev", "-out", plan)
            terraform("apply", "-input=false", plan)
        finally:
            server.terminate()
            server.wait()
        return time.perf_counter() - started


# ---- (a) stage 03 on the AIPX stack -----------------------------------------------------------------------


class AipxPlan:
    """A copy of the project (init writes the stack's lock file), a workspace, the emulator, backend and init
    done once; then stage 03 through the runbook, or its plan and show commands run directly."""

    def __init__(self, root: Path, provider_env: dict[str, str]) -> None:
        for folder in ("environments", "notebooks", "terraform/aws"):
            shutil.copytree(
                PROJECT_ROOT / folder,
                root / "project" / folder,
                ignore=shutil.ignore_patterns(".terraform", ".terraform.lock.hcl", "*.tfstate*", "*.tfplan"),
            )
        self.env = {
            **os.environ,
            **provider_env,
            "AIPX_WORKSPACE": str(root / "workspace"),
            "AIPX_PROJECT_ROOT": str(root / "project"),
        }
        self.raw_plan = root / "raw.tfplan"
        os.environ.update({k: self.env[k] for k in ("AIPX_WORKSPACE", "AIPX_PROJECT_ROOT", *provider_env)})
        from python_terraform import IsFlagged

        from aipx_runbook import emulator, stages, tfprocess
        from aipx_runbook.context import open_stage
        from aipx_runbook.terraform import TerraformRunner

        emulator.start()
        run_dir = str(root / "setup")
        with contextlib.redirect_stdout(io.StringIO()):  # init streams Terraform's output
            stages.backend_setup(open_stage("backend", "dev", "local", "aipx", run_dir=run_dir))
            stages.init(open_stage("init", "dev", "local", "aipx", run_dir=run_dir))
        runner = TerraformRunner(open_stage("plan", "dev", "local", "aipx", run_dir=run_dir))
        # The runbook's own command line for the plan, so both sides plan exactly the same thing; its variables go
        # to a private folder in the bench's workspace (removed with it), as the runbook's own calls do.
        self.plan_argv = runner.command_line(
            tfprocess.TerraformProcess("plan", run_dir),
            "plan",
            input=False,
            no_color=IsFlagged,
            detailed_exitcode=IsFlagged,
            lock_timeout=runner.lock_timeout,
            **runner.variable_arguments(),
            out=str(self.raw_plan),
        )
        self.terraform_env, self.cwd = runner.environment(), runner.ctx.stack_dir

    def direct_once(self) -> float:
        started = time.perf_counter()
        plan = subprocess.run(self.plan_argv, cwd=self.cwd, env=self.terraform_env, capture_output=True, text=True)
        if plan.returncode not in (0, 2):
            raise SystemExit(f"terraform plan failed:\n{plan.stderr}")
        show = subprocess.run(
            ["terraform", "show", "-json", "-no-color", str(self.raw_plan)],
            cwd=self.cwd,
            env=self.terraform_env,
            capture_output=True,
            text=True,
            check=True,
        )
        json.loads(show.stdout)
        return time.perf_counter() - started

    def runbook_once(self) -> tuple[float, dict[str, Any]]:
        return runbook_cli(self.env, "--env", "dev", "--stack", "aipx", "--stages", "plan")

    def close(self) -> None:
        from aipx_runbook import emulator

        emulator.stop()


# ---- rounds ------------------------------------------------------------------------------


def alternate(
    rounds: int, direct: Callable[[], float], runbook: Callable[[], tuple[float, dict[str, Any]]]
) -> tuple[list[float], list[float], list[dict[str, Any]]]:
    direct_times, runbook_times, summaries = [], [], []
    for index in range(rounds):
        pair = [("direct", direct), ("runbook", runbook)]
        for name, side in pair if index % 2 == 0 else reversed(pair):
            outcome = side()
            if name == "direct":
                direct_times.append(outcome)
            else:
                runbook_times.append(outcome[0])
                summaries.append(outcome[1])
        print(f"  round {index + 1}: direct {direct_times[-1]:6.2f} s, runbook {runbook_times[-1]:6.2f} s", flush=True)
    return direct_times, runbook_times, summaries


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", choices=("aipx", "smoke"), help="run one half only")
    args = parser.parse_args()
    if shutil.which("terraform") is None:
        print("terraform is not on PATH: run `make bench`, which installs it", file=sys.stderr)
        return 1
    started, load_before = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), load_average()
    print(f"{started}, {figures.machine()}, load average {load_before}")
    measured: list[Measured] = []
    if args.only != "smoke":
        from terraform_mirror import AIPX_STACK, ProvidersUnavailable, provider_installation

        with tempfile.TemporaryDirectory() as root:
            try:
                providers = provider_installation(AIPX_STACK, Path(root))
            except ProvidersUnavailable as missing:
                print(f"\n(a) stage 03 on the AIPX stack: SKIPPED, {missing}")
            else:
                print(f"\n(a) stage 03 on the AIPX stack, dev; providers from {providers.source}")
                aipx = AipxPlan(Path(root), providers.environment)
                try:
                    aipx.direct_once()  # warm-up, both sides alike: the page cache holds the provider binary
                    aipx.runbook_once()
                    results = alternate(args.rounds, aipx.direct_once, aipx.runbook_once)
                finally:
                    aipx.close()
                measured.append(report("(a) stage 03, AIPX stack, dev", 1.15, *results))
    if args.only != "aipx":
        print("\n(b) full dev run, smoke stack: direct script vs `aipx-runbook run --env dev`")
        results = alternate(args.rounds, smoke_direct_once, smoke_runbook_once)
        measured.append(report("(b) full dev run, smoke stack", 4.0, *results))
    load_after = load_average()
    print(f"\nload average at the end {load_after}")
    if measured:
        print("\nFor the README (Development, Speed):\n")
        print(markdown(measured, started, args.rounds, load_before, load_after))
    return 0


if __name__ == "__main__":
    sys.exit(main())
