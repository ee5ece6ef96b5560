"""What the drill stacks' provisioners do in the emulator, as the AIPX stack's resources would in AWS.

`python -m aipx_runbook.training.emulated create-bucket|require-object ...`, run by Terraform's local-exec with
the target's environment (the emulator's dummy credentials). An AWS error is printed as AWS gives it, and the
exit status is 1, so Terraform's apply fails the way the AWS provider's would.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import boto3
from botocore.exceptions import BotoCoreError, ClientError


def _s3(endpoint: str, region: str):  # noqa: ANN202 (a boto3 client)
    if not endpoint:
        raise SystemExit("the drill stacks run on the local emulator only (target local)")
    return boto3.client("s3", endpoint_url=endpoint, region_name=region)


def create_bucket(args: argparse.Namespace) -> None:
    s3 = _s3(args.endpoint, args.region)
    s3.create_bucket(Bucket=args.bucket, CreateBucketConfiguration={"LocationConstraint": args.region})
    tags = [dict(zip(("Key", "Value"), tag.split("=", 1), strict=True)) for tag in args.tag]
    if tags:
        s3.put_bucket_tagging(Bucket=args.bucket, Tagging={"TagSet": tags})
    print(f"created bucket {args.bucket} in {args.region}")


def require_object(args: argparse.Namespace) -> None:
    s3 = _s3(args.endpoint, args.region)
    try:
        s3.head_object(Bucket=args.bucket, Key=args.key)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        raise SystemExit(f"the code package s3://{args.bucket}/{args.key} is not there ({code})") from error
    print(f"deployed from s3://{args.bucket}/{args.key}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aipx_runbook.training.emulated")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-bucket")
    create.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE")
    create.set_defaults(handler=create_bucket)
    require = commands.add_parser("require-object")
    require.add_argument("--key", required=True)
    require.set_defaults(handler=require_object)
    for command in (create, require):
        command.add_argument("--endpoint", required=True)
        command.add_argument("--region", required=True)
        command.add_argument("--bucket", required=True)
    args = parser.parse_args(argv)
    try:
        args.handler(args)
    except (ClientError, BotoCoreError) as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
