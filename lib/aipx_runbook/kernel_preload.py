"""What runs inside a stage's kernel as it starts, and what the process kernels are forked from loads for them.

A kernel started ahead (kernels.py) imports the library before it answers and, on a thread of its own, what its
stage's cells load besides it (``needs``); a kernel forked from kernel_zygote.py finds most of that loaded
already (``imported_ahead``). Either way it leaves at once when asked to shut down (``leave_at_once``).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import os
import sys
import threading
import time

from . import timings

# What a stage's cells import on first use besides the library, loaded as its kernel starts ahead, and only in
# that stage's kernel: the AWS SDK where a stage calls AWS, jinja2 where it draws charts (charts.py).
SDK = ("boto3", "botocore.client")
CHARTS = ("jinja2",)
PRELOADS: dict[str, tuple[str, ...]] = {
    "prerequisites": SDK,
    "backend": SDK,
    "plan": CHARTS,
    "verify": SDK,
    "state": SDK,
    "budget": (*SDK, *CHARTS),
}
# The AWS services whose models a stage's kernel reads as it starts ahead (aws.warm), for the calls its first
# cells make: what every run's stage makes, not what only the AIPX stack's verify adds.
SERVICES: dict[str, tuple[str, ...]] = {
    "prerequisites": ("sts",),
    "backend": ("s3", "dynamodb"),
    "verify": ("s3",),
    "state": ("s3", "dynamodb"),
}
# The stages that read the environment's aws.tfvars (python-hcl2) before their first Terraform command.
READS_TFVARS = frozenset({"plan", "destroy"})
HCL_PARSER = "hcl2"


# In a kernel forked from kernel_zygote.py: the seconds that process spent importing before it forked this one.
forked_after = 0.0


def needs(stage: str) -> list[str]:
    """What a stage's cells load besides the library, as ``load`` names it: modules, ``aws:<service>`` for a
    service's models, ``hcl2`` for python-hcl2's parser."""
    services = [f"aws:{service}" for service in SERVICES.get(stage, ())]
    return [*PRELOADS.get(stage, ()), *services, *([HCL_PARSER] if stage in READS_TFVARS else [])]


def load(name: str) -> None:
    """Load one of ``needs``; a failure is left to the stage, which imports it again and fails there, named."""
    with contextlib.suppress(Exception):
        if name.startswith("aws:"):
            from . import aws, config

            aws.warm((name.removeprefix("aws:"),), config.DEFAULT_REGION)
        elif name == HCL_PARSER:
            import hcl2

            hcl2.loads("warm = 1\n")  # builds python-hcl2's Lark parser, before the stage reads aws.tfvars
        else:
            importlib.import_module(name)


def imported_ahead(stages: list[str]) -> tuple[list[str], list[str]]:
    """What the process kernels are forked from imports for these stages: before the first stage's kernel, what
    that stage's first cells call (the AWS SDK and its service models); not python-hcl2's parser or the chart
    template, which the first kernel loads on its own thread while its first cells run (waiting for them in the
    forking process delayed a lone stage 03 by 0.1-0.2 s); then what the other stages need, in the order they
    need it."""
    names = [needs(stage) for stage in stages]
    first = [name for name in names[0] if name not in (*CHARTS, HCL_PARSER)] if names else []
    return first, [name for name in dict.fromkeys(sum(names[1:], [])) if name not in first]


def preload(stage: str = "") -> None:
    """Run inside a kernel as it starts: import the library now, and what the stage's cells import besides it on a
    thread of the kernel, which goes on while the kernel already answers (the first stage's kernel is waited for,
    and the stage's first cells and Terraform need none of it); counted as work done ahead."""
    started = time.perf_counter()
    if stage == "prerequisites":
        from . import aws_cli

        aws_cli.ask_ahead()  # a subprocess, first: it runs while this kernel imports and waits for its stage
    import aipx_runbook.stages  # noqa: F401

    timings.reset()
    timings.kernel_began("forked" if forked_after else "fresh")
    timings.ahead("imports", forked_after + time.perf_counter() - started)
    atexit.register(leave_at_once)
    threading.Thread(target=_preload_rest, args=(stage,), name="aipx-preload", daemon=True).start()


def leave_at_once(code: int = 0) -> None:
    """The kernel's last step once its stage is done and it was asked to shut down: leave without the rest of the
    interpreter's shutdown (IPython's history database, tearing down every module: a fifth of a second that the
    run's end waits for). Registered after IPython's own exit handlers, so it runs before them; the executed
    notebook and every record were written by then, and what the kernel printed is flushed first."""
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def _preload_rest(stage: str) -> None:
    """The stage's own heavy imports and AWS service models; a cell that needs one first waits for its import."""
    started = time.perf_counter()
    for name in needs(stage):
        load(name)
    timings.ahead("thread imports", time.perf_counter() - started)
