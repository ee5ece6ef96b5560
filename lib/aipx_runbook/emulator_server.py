"""The emulator's server process: moto's app behind werkzeug, one request per connection.

`python -m moto.server` keeps HTTP connections alive. Under load a client can then send a request on a
connection the server is closing; the AWS SDK inside Terraform retries it, and a retried conditional
PutItem of the state lock fails against the lock its first attempt already took, leaving Terraform
blocked by its own lock. Closing every connection after its response (HTTP/1.0) removes that race.
"""

from __future__ import annotations

import argparse
import os

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


class OneRequestPerConnection(MotoRequestHandler):
    protocol_version = "HTTP/1.0"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, app, threaded=True, request_handler=OneRequestPerConnection)


if __name__ == "__main__":
    main()
