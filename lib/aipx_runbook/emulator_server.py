"""The emulator's process: moto's own server, which loads the services every run calls first while it waits.

moto loads a service (its modules, and its backend for the region: EC2's default VPC, AMIs and instance types)
on the service's first request, which takes seconds on a loaded machine; every run's first stages call STS,
S3 and DynamoDB. Once the server listens, a thread of its own process sends each of them one read-only call,
through boto3 (which moto depends on), so that they load while the runner's first kernel boots instead of inside
stage 00. The calls read and create nothing a run could see: moto builds the same backend on any first call.
No warm-up where moto enforces IAM (``INITIAL_NO_AUTH_ACTION_COUNT``): it counts the requests it lets through.

    python -m aipx_runbook.emulator_server -H 127.0.0.1 -p PORT   # the arguments of `python -m moto.server`
"""

from __future__ import annotations

import os
import sys
import threading
import time

# (service, read-only call) in the order a run's stages make them: 00 prerequisites, 01 backend. Not EC2: only the
# AIPX stack's plan calls it, and loading it (about a second of CPU in this process) would slow the calls of
# stages 00-01 that arrive meanwhile.
FIRST_CALLS = (
    ("sts", "get_caller_identity"),
    ("s3", "list_buckets"),
    ("dynamodb", "list_tables"),
)
WAIT_FOR_SERVER_SECONDS = 30.0


def _port(arguments: list[str]) -> int:
    for index, argument in enumerate(arguments):
        if argument in ("-p", "--port") and index + 1 < len(arguments):
            return int(arguments[index + 1])
    return 5000  # moto.server's default


def warm(endpoint: str) -> None:
    """Make each first call once the server answers; a failure only means the service loads on its real call.
    Nothing here competes with moto's own start for the interpreter until the server listens."""
    from .processes import listening

    deadline = time.monotonic() + WAIT_FOR_SERVER_SECONDS
    while not listening(endpoint, timeout=0.5):
        if time.monotonic() > deadline:
            return
        time.sleep(0.02)
    import boto3  # here: moto has imported it by now
    import botocore.config
    import botocore.exceptions

    from .config import DEFAULT_REGION  # the environments' region: moto builds a backend per region called

    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=DEFAULT_REGION)
    options = botocore.config.Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=60)
    deadline = time.monotonic() + WAIT_FOR_SERVER_SECONDS
    for service, call in FIRST_CALLS:
        client = session.client(service, endpoint_url=endpoint, config=options)
        while True:
            try:
                getattr(client, call)()
                break
            except botocore.exceptions.EndpointConnectionError:
                if time.monotonic() > deadline:
                    return
                time.sleep(0.05)
            except Exception:  # an answer of any kind (an error too) has loaded the service
                break


def exit_now(_signum: int, _frame: object) -> None:
    """SIGTERM/SIGINT: leave at once. moto's own handler calls sys.exit, and the interpreter's shutdown then tears
    every loaded backend down (about a second, every run); the emulator's state is discarded anyway."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def main(arguments: list[str]) -> None:
    if "INITIAL_NO_AUTH_ACTION_COUNT" not in os.environ:
        endpoint = f"http://127.0.0.1:{_port(arguments)}"
        threading.Thread(target=warm, args=(endpoint,), name="moto-warm-up", daemon=True).start()
    import moto.server

    moto.server.signal_handler = exit_now  # moto.server.main installs the handler it finds under this name
    moto.server.main(arguments)


if __name__ == "__main__":
    main(sys.argv[1:])
