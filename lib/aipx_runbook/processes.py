"""Local processes the runbook starts and later finds again by pid (the emulator, Terraform), and the port one
listens on."""

from __future__ import annotations

import os
import select
import socket
import time


def alive(pid: int) -> bool:
    """Is a process with this pid running (one of another user counts: it exists)?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait_for_exit(pid: int, seconds: float) -> None:
    """Up to ``seconds``, returning as soon as the process exits (or is gone). Own code: Popen.wait(timeout) polls
    with sleeps of up to 50 ms and only for a child; a pidfd (Linux 5.3+) in select wakes at the exit itself.
    Elsewhere: a plain sleep. A child that exited stays a zombie until its parent reaps it, which it still must."""
    try:
        descriptor = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    except (AttributeError, OSError):  # no pidfd here
        time.sleep(seconds)
        return
    try:
        select.select([descriptor], [], [], seconds)
    finally:
        os.close(descriptor)


def listening(endpoint: str, timeout: float = 2.0) -> bool:
    """The port of ``http://host:port`` accepts connections: a busy server still does, where an HTTP probe could
    time out."""
    host, port = endpoint.removeprefix("http://").rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
        return True
    except OSError:
        return False
