"""The runner's kernel processes as the system shows them, for tests that check none is left behind.

A stage's kernel is either a fresh interpreter (`python -m ipykernel_launcher`, the runner's child) or forked from
the run's pre-imported process (kernel_zygote.py: named `aipx-kernel`, that process `aipx-kernel-for[k]`, in
/proc/<pid>/comm). Read from /proc, not from the library, so a kernel the library lost track of is still found.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

FORKED = "aipx-kernel"
ZYGOTE = "aipx-kernel-for"  # comm keeps 15 characters of "aipx-kernel-fork"


@dataclass(frozen=True)
class KernelProcess:
    pid: int
    parent: int
    kind: str  # "fresh", "forked" or "zygote"
    environment: bytes  # the environment it was started with (/proc/<pid>/environ)


def kernel_processes() -> list[KernelProcess]:
    """Every live (not zombie) kernel process and kernel-forking process on this machine."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
            cmdline = (status.parent / "cmdline").read_bytes()
            comm = (status.parent / "comm").read_text().strip()
            environment = (status.parent / "environ").read_bytes()
        except OSError:
            continue
        if fields.get("State", "").startswith("Z"):
            continue
        kind = {FORKED: "forked", ZYGOTE: "zygote"}.get(comm, "fresh" if b"ipykernel_launcher" in cmdline else "")
        if kind:
            found.append(KernelProcess(int(status.parent.name), int(fields["PPid"].strip()), kind, environment))
    return found


def started_by(pid: int) -> list[KernelProcess]:
    """The kernel processes descending from process ``pid`` (its kernels, its zygote and that one's kernels)."""
    processes = kernel_processes()
    ours = {pid}
    grew = True
    while grew:
        grew = False
        for process in processes:
            if process.parent in ours and process.pid not in ours:
                ours.add(process.pid)
                grew = True
    return [process for process in processes if process.pid in ours and process.pid != pid]


def of_this_test_process() -> list[KernelProcess]:
    return started_by(os.getpid())


def with_environment(name: str, value: str) -> list[KernelProcess]:
    """Kernel processes started with ``name=value`` in their environment (for a runner that is gone)."""
    marker = f"{name}={value}".encode()
    return [process for process in kernel_processes() if marker in process.environment.split(b"\0")]
