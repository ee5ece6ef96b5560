"""The AWS CLI's version, asked once per binary and possibly ahead of time: a prerequisites kernel started for
stage 00 asks first thing as it boots (kernel_preload.preload), and the check (prereqs.check_aws_cli) takes that answer.
AWS CLI v1 is a Python program that needs over half a second to print its version. Only what the standard
library offers is imported here, so asking costs the kernel's boot nothing."""

from __future__ import annotations

import shutil
import subprocess
from concurrent.futures import Future, ThreadPoolExecutor

_asked: dict[str, Future[str]] = {}  # binary -> its version, asked ahead
_queries: ThreadPoolExecutor | None = None


def ask_ahead() -> None:
    """Ask the AWS CLI on PATH for its version now, on a thread of this process."""
    global _queries
    binary = shutil.which("aws")
    if binary and binary not in _asked:
        _queries = _queries or ThreadPoolExecutor(max_workers=1, thread_name_prefix="aipx-aws-cli")
        _asked[binary] = _queries.submit(ask, binary)


def version(binary: str) -> str:
    """The answer asked ahead for this binary (once), else asked now."""
    asked = _asked.pop(binary, None)
    return asked.result() if asked else ask(binary)


def ask(binary: str) -> str:
    """``aws --version``'s first word (aws-cli/2.x.y), or "" when it does not run."""
    try:
        result = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (result.stdout or result.stderr).strip().split(" ")[0] if result.returncode == 0 else ""
