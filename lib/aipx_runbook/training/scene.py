"""Setting a drill's scene on the emulator: a clean account, a drill stack, deployments and real failures.

Every fault is made by the real thing: the real Terraform binary against the moto server, killed or failing
the way it does on a bad day. Target ``local`` only: training never touches an AWS account.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from importlib import resources
from pathlib import Path

from python_terraform import IsFlagged

from .. import config, stages, tfprocess
from ..context import StageContext, open_stage
from ..errors import EmulatorError, RunbookError
from ..terraform import TerraformRunner

KILL_TIMEOUT_SECONDS = 120.0


def stacks_dir() -> Path:
    """Where the trainee's copies of the drill stacks live (the workspace, never the checkout)."""
    return config.state_dir() / "training" / "stacks"


def install_stack(name: str) -> Path:
    """A fresh copy of the drill stack ``name``, with this Python filled in for its provisioners."""
    folder = stacks_dir() / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    template = resources.files(__package__) / "stacks" / name
    for item in template.iterdir():
        if item.name.endswith(".tf"):
            (folder / item.name).write_text(item.read_text().replace("@PYTHON@", sys.executable))
    return folder


def stack_path(name: str) -> Path:
    return stacks_dir() / name


def context(environment: str, stack: str = "smoke") -> StageContext:
    """The drill's stage context on the local emulator (started when none runs)."""
    return open_stage("training", environment, "local", stack=stack)


def reset_emulator(ctx: StageContext) -> None:
    """Empty the emulator (every bucket, table and lock), so each drill starts from a known account."""
    if not ctx.target.is_local:
        raise EmulatorError("reset the emulator", "training runs on target local only", "use target='local'")
    request = urllib.request.Request(ctx.target.endpoint_url + "/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=30):
        pass
    data_dir = ctx.terraform_data_dir
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    for name in ("tfplan.meta.json", "destroy.tfplan.meta.json"):
        (ctx.run_dir / name).unlink(missing_ok=True)


def backend_ready(ctx: StageContext) -> None:
    """The state bucket and lock table, as stage 01 makes them."""
    stages.backend_setup(ctx)


def initialised(ctx: StageContext) -> TerraformRunner:
    runner = TerraformRunner(ctx)
    runner.init()
    return runner


def apply_directly(ctx: StageContext, **variables: object) -> None:
    """`terraform apply -auto-approve`, as a colleague's shell would run it (not through the runbook)."""
    runner = initialised(ctx)
    runner.run("apply", auto_approve=IsFlagged, input=False, no_color=IsFlagged, **_with(runner, variables))


def _with(runner: TerraformRunner, variables: dict[str, object]) -> dict[str, object]:
    arguments = runner.variable_arguments()
    arguments["var"] = {**arguments["var"], **variables}
    return arguments


def killed_apply(ctx: StageContext, wait_for: str, **variables: object) -> None:
    """A real apply, SIGKILLed once its output shows ``wait_for``: it leaves its lock behind, as a cancelled
    CI job or a closed laptop does."""
    runner = initialised(ctx)
    private = tfprocess.TerraformProcess("apply", ctx.run_dir)
    argv = runner.command_line(
        private, "apply", auto_approve=IsFlagged, input=False, no_color=IsFlagged, **_with(runner, variables)
    )
    process = subprocess.Popen(
        argv,
        cwd=ctx.stack_dir,
        env=runner.environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + KILL_TIMEOUT_SECONDS
    seen = []
    try:
        for line in process.stdout:
            seen.append(line)
            if wait_for in line or time.monotonic() > deadline:
                break
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        process.stdout.close()
        shutil.rmtree(private.folder, ignore_errors=True)
    if not any(wait_for in line for line in seen):
        raise RunbookError(
            "set the scene: kill an apply mid-way",
            f"the apply never reached '{wait_for}'",
            "read its output below, then set the drill up again",
            details="".join(seen[-40:]),
        )


def failure_of(action, *args: object, **kwargs: object) -> RunbookError:  # noqa: ANN001
    """Run an action that must fail on this scene; its error is what the operator sees."""
    try:
        action(*args, **kwargs)
    except RunbookError as error:
        return error
    raise RunbookError(
        "set the scene",
        f"{getattr(action, '__name__', action)} succeeded where the drill expects it to fail",
        "set the drill up again; if it keeps happening, report it",
    )
