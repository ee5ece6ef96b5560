"""Benchmark: the full headless dev run (local emulator, smoke stack) against the same steps done directly.

The direct baseline is a plain script: it starts a moto server, makes the boto3 calls of the backend stage
and runs the terraform commands of stages 02-06. The runbook adds papermill, a kernel per notebook,
checks, reviews and reports. Prints the median of each and their ratio.

    make bench            # 5 runs each
    python bench/full_run.py --runs 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import boto3

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SMOKE = PROJECT_ROOT / "terraform" / "smoke"
BUCKET, TABLE, KEY, REGION = (
    "aipx-terraform-state",
    "aipx-terraform-locks",
    "aws/dev/terraform.tfstate",
    "ap-northeast-2",
)


def runbook_once() -> float:
    with tempfile.TemporaryDirectory() as workspace:
        env = {**os.environ, "AIPX_WORKSPACE": workspace, "AIPX_PROJECT_ROOT": str(PROJECT_ROOT)}
        started = time.perf_counter()
        subprocess.run(
            [
                str(Path(sys.executable).parent / "aipx-runbook"),
                "run",
                "--env",
                "dev",
                "-p",
                "auto_approve=True",
                "-p",
                "confirm=dev",
            ],
            env=env,
            check=True,
            capture_output=True,
        )
        return time.perf_counter() - started


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def direct_once() -> float:
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if shutil.which("terraform") is None:
        print("terraform is not on PATH: run `make bench`, which installs it", file=sys.stderr)
        return 1
    direct = [direct_once() for _ in range(args.runs)]
    runbook = [runbook_once() for _ in range(args.runs)]
    direct_median, runbook_median = statistics.median(direct), statistics.median(runbook)
    print(f"runs each:                {args.runs}")
    print(f"direct script, median:    {direct_median:6.2f} s   (all: {', '.join(f'{t:.2f}' for t in direct)})")
    print(f"runbook (papermill), median: {runbook_median:6.2f} s   (all: {', '.join(f'{t:.2f}' for t in runbook)})")
    print(f"ratio runbook / direct:   {runbook_median / direct_median:6.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
