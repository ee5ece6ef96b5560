"""The Terraform runner: init, plan (saved file + JSON summary), apply, output, destroy, state.

Commands are built with python-terraform and run as subprocesses here, so that each runs with the
target's environment (dummy credentials for local), its own TF_DATA_DIR per environment, and can
stream its output line by line into a notebook cell.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_terraform import IsFlagged
from python_terraform import Terraform as CommandBuilder

from . import filecache, hints, locks, parsing, recovery, tfmessages, tfprocess, versions
from .config import read_tfvars
from .context import StageContext
from .errors import PrerequisiteError, TerraformError
from .timings import measure

DEFAULT_LOCK_TIMEOUT = "20s"
VARIABLE_BLOCK = re.compile(r"\bvariable\b")
INSTALL_HELP = (
    "install Terraform: macOS `brew tap hashicorp/tap && brew install hashicorp/tap/terraform`; "
    "Debian/Ubuntu from HashiCorp's apt repository (apt.releases.hashicorp.com); "
    "conda `conda install -c conda-forge terraform`; or run `make terraform` to fetch the pinned release"
)


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


@dataclass
class PlanMetadata:
    """What a saved plan was made for; apply refuses a plan whose facts do not match."""

    plan_file: str
    sha256: str
    environment: str
    stack: str
    stack_digest: str
    target: str
    terraform_version: str
    destroy: bool
    created_at: str
    has_changes: bool
    summary: dict[str, Any] = field(default_factory=dict)
    run_dir: str = ""
    # The two parts of stack_digest apart, so that a mismatch names which one changed.
    stack_files_digest: str = ""
    tfvars_sha256: str = ""
    # A plan with exclusions (targeting.py): the resources named, and all it left out because of them.
    excluded: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)


def declared_variables(stack_dir: Path) -> set[str]:
    names: set[str] = set()
    for path in sorted(stack_dir.glob("*.tf")):
        # Parsing HCL is slow: only files that can hold a variable block are parsed (same result).
        if VARIABLE_BLOCK.search(path.read_text()):
            names |= _variables_in(path)
    return names


@filecache.by_content
def _variables_in(path: Path) -> frozenset[str]:
    return frozenset(name.strip('"') for block in parsing.load_hcl(path).get("variable", []) for name in block)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def stack_digest(stack_dir: Path, var_file: Path | None) -> str:
    """A hash of every file the stack directory holds (relative path and content; the .terraform directory
    aside) and of the environment's variables, to detect edits after plan: a script or template the stack
    reads is as much its configuration as its .tf files."""
    digest = hashlib.sha256()
    files = sorted(
        (p for p in stack_dir.rglob("*") if p.is_file() and ".terraform" not in p.relative_to(stack_dir).parts),
        key=lambda p: p.relative_to(stack_dir).as_posix(),
    )
    entries = [(p.relative_to(stack_dir).as_posix(), p) for p in files]
    if var_file is not None and var_file.exists():
        entries.append((f"var-file:{var_file.name}", var_file))
    for name, path in entries:
        digest.update(name.encode() + b"\0")
        digest.update(file_sha256(path).encode())
    return digest.hexdigest()


def find_binary() -> str:
    binary = shutil.which("terraform")
    if binary is None:
        raise PrerequisiteError("find Terraform", "no `terraform` on PATH", INSTALL_HELP)
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
        if self._version is None:
            self._version = versions.installed_version(self.binary)
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
                INSTALL_HELP,
            )

    def environment(self) -> dict[str, str]:
        env = self.ctx.target.terraform_env()
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
        settings = self.ctx.settings
        config = {
            "bucket": settings.state_bucket,
            "key": settings.state_key,
            "region": self.ctx.region,
            "encrypt": "true",
        }
        if settings.locking in ("dynamodb", "both"):
            config["dynamodb_table"] = settings.lock_table
        if settings.locking in ("lockfile", "both"):
            if self.version < (1, 10, 0):
                raise PrerequisiteError(
                    "configure S3-native state locking",
                    f"use_lockfile needs Terraform >= 1.10; found {versions.format_version(self.version)}",
                    'upgrade Terraform or set locking = "dynamodb" in '
                    f"environments/{self.ctx.environment}/runbook.toml",
                )
            config["use_lockfile"] = "true"
        if self.ctx.target.is_local:
            config.update(self._emulator_backend_options())
        return config

    def _emulator_backend_options(self) -> dict[str, str]:
        endpoint = self.ctx.target.endpoint_url
        options = {
            "skip_credentials_validation": "true",
            "skip_metadata_api_check": "true",
            "skip_region_validation": "true",
        }
        if self.version >= (1, 6, 0):
            options["endpoints"] = f'{{s3="{endpoint}",dynamodb="{endpoint}",sts="{endpoint}",iam="{endpoint}"}}'
            options["use_path_style"] = "true"
            options["skip_requesting_account_id"] = "true"
        else:
            options["endpoint"] = endpoint
            options["dynamodb_endpoint"] = endpoint
            options["sts_endpoint"] = endpoint
            options["iam_endpoint"] = endpoint
            options["force_path_style"] = "true"
        return options

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
            finished = process.run(argv, self.ctx.stack_dir, self.environment(), stream=stream)
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
        shown = f"environments/{self.ctx.environment}/aws.tfvars"
        text = tfmessages.point_at_tfvars(result.stderr or result.stdout, self.ctx.settings.tfvars, shown)
        why, fix = hints.fix_for(
            text, f"read the Terraform error above; rerun `terraform {result.command}` after fixing"
        )
        if "Invalid value for variable" in text:
            why = "a variable's value breaks the stack's validation rule (Terraform's error below names both)"
            fix = f"correct that value in {shown}, then plan again (stage 03)"
        held = locks.Lock.from_error(text)
        if held is not None:
            fix = locks.release_instructions(held, self.ctx.environment, self.ctx.target.name, self.ctx.stack)
        error = TerraformError(result.command, result.returncode, _errors_only(text), why, fix)
        return self._with_rescue(error, result)

    def interrupted(self, result: CommandResult) -> TerraformError:
        outcome = "stopped" if result.returncode else "finished anyway"
        error = TerraformError(
            result.command,
            result.returncode,
            _errors_only(result.stderr or result.stdout),
            f"interrupted (Ctrl-C): Terraform {result.command} {outcome} gracefully, saving the state and releasing "
            "its lock",
            "check what the state holds (notebook 07, or `aipx-runbook run --stages state`), then plan and apply "
            "again (stages 03 and 04)",
        )
        error.interrupted = True
        return self._with_rescue(error, result)

    def _with_rescue(self, error: TerraformError, result: CommandResult) -> TerraformError:
        if result.rescued_state:
            rescued = recovery.rescued_text(self.ctx, result.rescued_state)
            error.details = "\n\n".join(part for part in (error.details, rescued) if part)
        return error

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
    ) -> tuple[CommandResult, PlanMetadata]:
        result = self.run(
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
        metadata = PlanMetadata(
            plan_file=plan_file.name,
            sha256=file_sha256(plan_file),
            environment=self.ctx.environment,
            stack=self.ctx.stack,
            stack_digest=stack_digest(self.ctx.stack_dir, self.var_file),
            target=self.ctx.target.name,
            terraform_version=versions.format_version(self.version),
            destroy=destroy,
            created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            has_changes=result.returncode == 2,
        )
        return result, metadata

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


def _errors_only(text: str) -> str:
    """Terraform's error blocks without the CLI-configuration warning this image always prints."""
    blocks = text.split("\n\n")
    kept = [b for b in blocks if "CLI configuration" not in b and "Unable to open CLI configuration" not in b]
    return "\n\n".join(kept).strip() or text.strip()
