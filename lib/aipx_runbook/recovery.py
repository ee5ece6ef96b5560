"""What is left behind when Terraform could not finish: a state it could not save, a process whose runner died.

- ``errored.tfstate``: when Terraform cannot write the state to the backend (the bucket refuses it, the
  emulator is gone), it writes the state into the stack directory as ``errored.tfstate``, sensitive values in
  clear. It is moved at once, owner-only, into the private store (``<workspace>/.aipx/recovered/``), and the
  failure names it with the exact ``terraform state push`` that puts it back.
- A Terraform process whose waiter (the notebook's kernel, the runner) was killed keeps running on its own
  (tfprocess.py); the next run says what became of it.
"""

from __future__ import annotations

import os
import shlex
import shutil
import time
from pathlib import Path

from . import processes, tfprocess
from .context import StageContext
from .local_credentials import shell_assignments

ERRORED = "errored.tfstate"
OUTCOME_MARKERS = ("Apply complete", "Destroy complete", "Error:", "Interrupt", "Stopping", "No changes")


def rescue_errored_state(ctx: StageContext) -> str:
    """Move the stack directory's errored.tfstate owner-only into the store; its new path, or ''."""
    source = ctx.stack_dir / ERRORED
    if not source.exists():
        return ""
    folder = tfprocess.private_folder("recovered")
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = folder / f"{ctx.environment}-{ctx.stack}-{ctx.target.name}-{stamp}.errored.tfstate"
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle, source.open("rb") as original:
        shutil.copyfileobj(original, handle)
    source.unlink()
    return str(target)


def push_command(ctx: StageContext, path: str) -> str:
    setup = f"cd {shlex.quote(str(ctx.stack_dir))} && TF_DATA_DIR={shlex.quote(str(ctx.terraform_data_dir))}"
    if ctx.target.is_local:
        setup += f" {shell_assignments()}"
    return f"{setup} terraform state push {shlex.quote(path)}"


def rescued_text(ctx: StageContext, path: str) -> str:
    return (
        f"Terraform could not save the state to s3://{ctx.settings.state_bucket}/{ctx.settings.state_key} and "
        f"wrote it to {ERRORED} in the stack directory; it may hold secrets in clear, so it was moved, owner-only, "
        f"to {path}. It is the only record of what this apply created. Once the backend answers again "
        f"(stage 01 passes), put it back:\n  {push_command(ctx, path)}\nthen plan again (stage 03), and delete "
        "the file once the plan shows the expected state."
    )


def earlier_processes() -> list[str]:
    """What became of Terraform processes whose waiter is gone: one note each. Finished ones are cleaned up."""
    notes = []
    for record in tfprocess.records():
        if processes.alive(record.waiter_pid):
            continue
        folder = Path(record.folder)
        where = f"run {record.run_dir or '(no run directory)'}"
        if processes.alive(record.pid) and tfprocess.is_terraform(record.pid):
            notes.append(
                f"terraform {record.command} of {where} (pid {record.pid}, started {record.started}) is still "
                "running on its own: the runner that started it was killed. It holds the state lock until it ends; "
                f"wait for it (`tail -f {folder / 'stdout'}`), then check the lock and state in notebook 07."
            )
            continue
        lines = _outcome_lines(folder / "stdout") + _outcome_lines(folder / "stderr")
        outcome = "; ".join(lines[-4:]) or "it left no outcome line"
        notes.append(
            f"terraform {record.command} of {where} (pid {record.pid}, started {record.started}) outlived its "
            f"killed runner and ended on its own: {outcome}. Check the state lock and what the state holds in "
            "notebook 07 (aipx-runbook run --env ENV --stages state), then plan again (stage 03)."
        )
        shutil.rmtree(folder, ignore_errors=True)
    return notes


def _outcome_lines(path: Path) -> list[str]:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return []
    return [line.strip() for line in text.splitlines() if line.strip().startswith(OUTCOME_MARKERS)]
