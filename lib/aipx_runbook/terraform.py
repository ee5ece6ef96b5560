"""The Terraform runner: init, graph, plan (to a file), show, apply, output, state, force-unlock.

Commands are built with python-terraform and run as subprocesses here, so that each runs with the
target's environment (dummy credentials for local), its own TF_DATA_DIR per environment, and can
stream its output line by line into a notebook cell. What the runner passes comes from elsewhere: the
backend options from ``backend_config``, the variables a stack declares from ``stack_files``; a failed
command becomes a TerraformError in ``tferrors``; a saved plan's description is ``plans.PlanMetadata``.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_terraform import IsFlagged
from python_terraform import Terraform as CommandBuilder

from . import backend_config, derived_cache, locks, recovery, tferrors, tfprocess, versions
from .config import read_tfvars
from .context import StageContext
from .errors import PrerequisiteError, TerraformError
from .stack_files import declared_variables
from .timings import measure
from .toolchain import install_help

DEFAULT_LOCK_TIMEOUT = "20s"
# Commands that take no state lock: their log could never prove a lock this process's own (locks.py), so they run
# without TF_LOG, which costs time: Terraform then formats every debug and trace message of its core.
UNLOCKED = ("show", "output", "graph", "version", "state list", "state pull", "state show")


@dataclass
class CommandResult:
    command: str
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    log: str = field(default="", repr=False)
    interrupted: bool = False
    rescued_state: str = ""


def find_binary() -> str:
    binary = shutil.which("terraform")
    if binary is None:
        raise PrerequisiteError("find Terraform", "no `terraform` on PATH", install_help())
    return binary


class TerraformRunner:
    def __init__(self, ctx: StageContext, lock_timeout: str = DEFAULT_LOCK_TIMEOUT) -> None:
        self.ctx = ctx
        self.binary = find_binary()
        self.lock_timeout = lock_timeout
        self.builder = CommandBuilder(working_dir=str(ctx.stack_dir), terraform_bin_path=self.binary)
        self._version: versions.Version | None = None

    @property
    def version(self) -> versions.Version:
        """The binary's version: asked once per binary file (``terraform version`` starts a process each time),
        kept for the next stages' processes by the binary's path, size, time and inode (derived_cache)."""
        if self._version is None:
            key = derived_cache.file_key(Path(self.binary))
            found = derived_cache.remembered("terraform-version", key, lambda: versions.installed_version(self.binary))
            self._version = (int(found[0]), int(found[1]), int(found[2]))
        return self._version

    @property
    def var_file(self) -> Path | None:
        path = self.ctx.settings.tfvars
        return path if path.exists() else None

    @property
    def version_text(self) -> str:
        return versions.format_version(self.version)

    def check_version(self) -> None:
        required = versions.required_version(self.ctx.stack_dir)
        if required and not versions.satisfies(self.version, required):
            raise PrerequisiteError(
                "check the Terraform version",
                f"the {self.ctx.stack} stack requires Terraform {required}; found "
                f"{versions.format_version(self.version)} at {self.binary}",
                install_help(),
            )

    def environment(self) -> dict[str, str]:
        env = self.ctx.target.terraform_env()
        self.ctx.terraform_data_dir.mkdir(parents=True, exist_ok=True)  # Terraform writes .terraform/ here
        env["TF_DATA_DIR"] = str(self.ctx.terraform_data_dir)
        env["TF_IN_AUTOMATION"] = "1"
        env["TF_INPUT"] = "0"
        env["CHECKPOINT_DISABLE"] = "1"
        return env

    def variable_arguments(self) -> dict[str, Any]:
        """-var-file and -var options: aws.tfvars whole when the stack declares all its keys
        (the AIPX stack), else only the values the stack declares (the smoke stack reads a few)."""
        declared = declared_variables(self.ctx.stack_dir)
        tfvars = read_tfvars(self.var_file) if self.var_file else {}
        values: dict[str, Any] = {}
        var_file = None
        if tfvars and set(tfvars) <= declared:
            var_file = str(self.var_file)
        else:
            values.update({name: value for name, value in tfvars.items() if name in declared})
        values["environment"] = self.ctx.environment
        values["region"] = self.ctx.region
        if self.ctx.target.is_local:
            values["emulator_endpoint"] = self.ctx.target.endpoint_url
        return {"var_file": var_file, "var": {k: v for k, v in values.items() if k in declared}}

    def backend_config(self) -> dict[str, str]:
        return backend_config.options(self.ctx, self.version)

    def run(self, command: str, *args: str, stream: bool = False, check: bool = True, **options: Any) -> CommandResult:
        """Run one Terraform command; raise TerraformError with a hint when it fails and check is set."""
        result = self._run_once(command, *args, stream=stream, **options)
        own_lock = locks.proven_own(result.stderr, result.log) if result.returncode and not result.interrupted else None
        if own_lock:
            self.force_unlock(own_lock.id)
            print(
                f"released lock {own_lock.id}: this {command} took it (its own log names that ID), then a retried "
                "lock write found it held",
                flush=True,
            )
            result = self._run_once(command, *args, stream=stream, **options)
        if result.returncode and command.split()[0] in ("apply", "destroy", "state"):
            result.rescued_state = recovery.rescue_errored_state(self.ctx)
        if result.interrupted:
            raise self.interrupted(result)
        if check and result.returncode not in (0, 2 if options.get("detailed_exitcode") else 0):
            raise self.error(result)
        return result

    def _run_once(self, command: str, *args: str, stream: bool = False, **options: Any) -> CommandResult:
        process = tfprocess.TerraformProcess(command, self.ctx.run_dir)
        argv = self.command_line(process, command, *args, **options)
        with measure("terraform"):
            finished = process.run(
                argv, self.ctx.stack_dir, self.environment(), stream=stream, log=command not in UNLOCKED
            )
        return CommandResult(
            command,
            finished.returncode,
            finished.stdout,
            finished.stderr,
            finished.seconds,
            log=finished.log,
            interrupted=finished.interrupted,
        )

    def command_line(self, process: tfprocess.TerraformProcess, command: str, *args: str, **options: Any) -> list[str]:
        """The argv of one call, its ``var`` values in the process's private var file: python-terraform would write
        them to a tmp*.tfvars.json in the system temp dir and keep it."""
        variables = options.pop("var", None)
        if variables:
            files = [options["var_file"]] if options.get("var_file") else []
            options["var_file"] = [*files, str(process.var_file(variables))]
        return self.builder.generate_cmd_string(command, *args, **options)

    def error(self, result: CommandResult) -> TerraformError:
        output = result.stderr or result.stdout
        return tferrors.failed(self.ctx, result.command, result.returncode, output, result.rescued_state)

    def interrupted(self, result: CommandResult) -> TerraformError:
        output = result.stderr or result.stdout
        return tferrors.interrupted(self.ctx, result.command, result.returncode, output, result.rescued_state)

    def init(self, stream: bool = False) -> CommandResult:
        self.check_version()
        return self.run(
            "init",
            stream=stream,
            input=False,
            no_color=IsFlagged,
            reconfigure=IsFlagged,
            backend_config=self.backend_config(),
        )

    def graph(self) -> str:
        """`terraform graph`: the configuration's resources and their dependencies, in DOT."""
        return self.run("graph").stdout

    def plan(
        self, plan_file: Path, destroy: bool = False, stream: bool = False, targets: tuple[str, ...] = ()
    ) -> CommandResult:
        """Save a plan to ``plan_file``; its return code is 2 when it holds changes (``-detailed-exitcode``)."""
        return self.run(
            "plan",
            stream=stream,
            input=False,
            no_color=IsFlagged,
            detailed_exitcode=IsFlagged,
            lock_timeout=self.lock_timeout,
            **self.variable_arguments(),
            out=str(plan_file),
            destroy=IsFlagged if destroy else None,
            target=list(targets) or None,
        )

    def show_plan(self, plan_file: Path) -> dict[str, Any]:
        result = self.run("show", str(plan_file), json=IsFlagged, no_color=IsFlagged)
        return json.loads(result.stdout)

    def apply(self, plan_file: Path, stream: bool = True) -> CommandResult:
        return self.run(
            "apply",
            str(plan_file),
            input=False,
            no_color=IsFlagged,
            lock_timeout=self.lock_timeout,
            stream=stream,
        )

    def outputs(self) -> dict[str, dict[str, Any]]:
        result = self.run("output", json=IsFlagged, no_color=IsFlagged)
        text = result.stdout.strip()
        return json.loads(text) if text else {}

    def state_list(self) -> list[str]:
        result = self.run("state list", no_color=IsFlagged)
        return [line for line in result.stdout.splitlines() if line.strip()]

    def state_pull(self) -> dict[str, Any]:
        result = self.run("state pull")
        return json.loads(result.stdout) if result.stdout.strip() else {}

    def show_state(self) -> dict[str, Any]:
        """``terraform show -json`` of the state: values with ``sensitive_values`` marks, in clear text."""
        result = self.run("show", json=IsFlagged, no_color=IsFlagged)
        return json.loads(result.stdout) if result.stdout.strip() else {}

    def force_unlock(self, lock_id: str) -> CommandResult:
        return self.run("force-unlock", lock_id, force=IsFlagged, no_color=IsFlagged)
