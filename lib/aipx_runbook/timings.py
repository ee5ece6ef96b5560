"""Where a stage's time goes: seconds per kind of work (terraform, aws, review, ...), measured where it happens.

The library wraps its Terraform commands, AWS API calls, plan reviews and cost estimates in ``measure(kind)``;
the totals of the process (one kernel per stage) are written beside the stage's record, as
``<run_dir>/stages/<stage>.timings.json``, each time a measured piece of work ends, so the runner reads them
into summary.json even when a later cell fails. Time is counted once, to the innermost kind: a Terraform
command run while reviewing counts as terraform, and the review gets the rest.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

KINDS = ("kernel start", "imports", "terraform", "aws", "review", "rendering")
_totals: dict[str, float] = {}
# Work a kernel started ahead did before its stage began (kernel_preload.preload): not part of the stage's time.
_ahead: dict[str, float] = {}
_kernel = ""  # how this stage's kernel process began: "forked" (kernel_zygote.py) or "fresh"
_sink: Path | None = None
# Per thread: seconds already counted by the measures nested in each open one.
_local = threading.local()
_lock = threading.RLock()


def _stack() -> list[float]:
    if not hasattr(_local, "nested"):
        _local.nested = []
    return _local.nested


def reset() -> None:
    _totals.clear()
    _ahead.clear()
    del _stack()[:]


def kernel_began(how: str) -> None:
    global _kernel
    _kernel = how


def ahead(kind: str, seconds: float) -> None:
    _ahead[kind] = _ahead.get(kind, 0.0) + seconds


def add(kind: str, seconds: float) -> None:
    with _lock:
        _totals[kind] = _totals.get(kind, 0.0) + seconds
        _flush()


def totals() -> dict[str, float]:
    return {kind: round(seconds, 3) for kind, seconds in _totals.items()}


@contextmanager
def measure(kind: str) -> Iterator[None]:
    """Add the block's wall time to ``kind``, less what measures nested in it counted."""
    stack = _stack()
    stack.append(0.0)
    started = time.perf_counter()
    try:
        yield
    finally:
        _count(kind, time.perf_counter() - started, stack.pop())


def _count(kind: str, elapsed: float, nested: float = 0.0) -> None:
    stack = _stack()
    if stack:
        stack[-1] += elapsed
    add(kind, max(elapsed - nested, 0.0))


def record_to(path: Path | None) -> None:
    """Write the totals to ``path`` from now on (StageContext.begin points it at the stage's record folder)."""
    global _sink
    _sink = path
    _flush()


def _flush() -> None:
    if _sink is None:
        return
    partial = _sink.with_name(_sink.name + ".partial")
    try:
        _sink.parent.mkdir(parents=True, exist_ok=True)
        document: dict[str, Any] = {"pid": os.getpid(), "seconds": totals()}
        if _ahead:
            document["ahead"] = {kind: round(seconds, 3) for kind, seconds in _ahead.items()}
        if _kernel:
            document["kernel"] = _kernel
        partial.write_text(json.dumps(document))
        os.replace(partial, _sink)
    except OSError:
        pass  # timings are an aid: a read-only run directory must not fail the stage


def read(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def watch_client(client: Any) -> Any:
    """Count a boto3 client's API calls (retries included) as ``aws`` time, through botocore's own events."""
    events = client.meta.events

    def before(context: dict[str, Any], **_: Any) -> None:
        context["aipx_started"] = time.perf_counter()

    def after(context: dict[str, Any], **_: Any) -> None:
        started = context.pop("aipx_started", None)
        if started is not None:
            _count("aws", time.perf_counter() - started)

    events.register("before-call", before)
    events.register("after-call", after)
    events.register("after-call-error", after)
    return client


def stage_breakdown(record: Path, seconds: float, kernel_start: float, rendering: float) -> dict[str, Any]:
    """Where one stage's time went, for summary.json: the runner's own measures (waiting for the kernel to
    answer, rendering the executed notebook to HTML) with what the kernel recorded; ``other`` is the rest
    (papermill and nbclient, cell round trips, the library's own Python)."""
    recorded = read(record)
    inside = {kind: float(value) for kind, value in recorded.get("seconds", {}).items()}
    spent = {"kernel start": kernel_start, **inside}
    spent["rendering"] = inside.get("rendering", 0.0) + rendering
    spent["other"] = max(seconds + rendering - sum(spent.values()), 0.0)
    breakdown: dict[str, Any] = {"seconds": {kind: round(value, 3) for kind, value in spent.items()}}
    if "pid" in recorded:
        breakdown["kernel_pid"] = recorded["pid"]
    if recorded.get("kernel"):
        breakdown["kernel"] = recorded["kernel"]
    if recorded.get("ahead"):
        breakdown["ahead"] = recorded["ahead"]
    return breakdown
