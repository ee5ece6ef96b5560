"""The Terraform runner: init, plan (saved file + JSON summary), apply, output, destroy, state.

Commands are built with python-terraform and run as subprocesses here, so that each runs with the
target's environment (dummy credentials for local), its own TF_DATA_DIR per environment, and can
stream its output line by line into a notebook cell.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import hcl2
from python_terraform import IsFlagged
from python_terraform import Terraform as CommandBuilder

from . import deprecations, filecache, hints, versions
from .config import read_tfvars
from .context import StageContext
from .errors import PrerequisiteError, TerraformError
from .timings import measure

DEFAULT_LOCK_TIMEOUT = "20s"
LOCK_INFO = re.compile(
    r"Error acquiring the state lock.*?Lock Info:\s+ID:\s+(?P<id>\S+).*?Operation:\s+(?P<operation>\S+)"
    r"\s+Who:\s+(?P<who>\S+).*?Created:\s+(?P<created>[^\n]+)",
    re.DOTALL,
)
VARIABLE_BLOCK = re.compile(r"\bvariable\b")
LOCKING_OPERATIONS = {"plan": "OperationTypePlan", "apply": "OperationTypeApply"}
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


def declared_variables(stack_dir: Path) -> set[str]:
    names: set[str] = set()
    for path in sorted(stack_dir.glob("*.tf")):
        # Parsing HCL is slow: only files that can hold a variable block are parsed (same result).
        if VARIABLE_BLOCK.search(path.read_text()):
            names |= _variables_in(path)
    return names


@filecache.by_content
def _variables_in(path: Path) -> frozenset[str]:
    with path.open() as handle:
        return frozenset(name.strip('"') for block in hcl2.load(handle).get("variable", []) for name in block)


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
        started_at = datetime.now(UTC)
        result = self._run_once(command, *args, stream=stream, **options)
        own_lock = orphaned_own_lock(result, started_at, self.ctx.terraform_data_dir)
        if own_lock:
            self.force_unlock(own_lock)
            print(
                f"released lock {own_lock}: this {command} took it, then a retried lock write found it held", flush=True
            )
            result = self._run_once(command, *args, stream=stream, **options)
        if check and result.returncode not in (0, 2 if options.get("detailed_exitcode") else 0):
            raise self.error(result)
        return result

    def _run_once(self, command: str, *args: str, stream: bool = False, **options: Any) -> CommandResult:
        argv = self.builder.generate_cmd_string(command, *args, **options)
        started = time.monotonic()
        with measure("terraform"):
            if stream:
                returncode, stdout, stderr = self._stream(argv, started)
            else:
                completed = subprocess.run(
                    argv, cwd=self.ctx.stack_dir, env=self.environment(), capture_output=True, text=True
                )
                returncode, stdout, stderr = completed.returncode, completed.stdout, completed.stderr
        return CommandResult(command, returncode, stdout, stderr, time.monotonic() - started)

    def error(self, result: CommandResult) -> TerraformError:
        text = result.stderr or result.stdout
        why, fix = hints.fix_for(
            text, f"read the Terraform error above; rerun `terraform {result.command}` after fixing"
        )
        return TerraformError(result.command, result.returncode, _errors_only(text), why, fix)

    def _stream(self, argv: list[str], started: float) -> tuple[int, str, str]:
        process = subprocess.Popen(
            argv,
            cwd=self.ctx.stack_dir,
            env=self.environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        lines: list[str] = []
        assert process.stdout is not None and process.stderr is not None
        # Read stderr beside stdout: a full stderr pipe would otherwise stall Terraform mid-apply.
        stderr_chunks: list[str] = []
        reader = threading.Thread(target=lambda: stderr_chunks.append(process.stderr.read()), daemon=True)
        reader.start()
        shown = deprecations.StreamFilter()  # stage 02 explains the dynamodb_table warning once
        for line in process.stdout:
            lines.append(line)
            for kept in shown.feed(line):
                sys.stdout.write(f"[{time.monotonic() - started:6.1f}s] {kept}")
            sys.stdout.flush()
        for kept in shown.flush():
            sys.stdout.write(f"[{time.monotonic() - started:6.1f}s] {kept}")
        returncode = process.wait()
        reader.join()
        return returncode, "".join(lines), "".join(stderr_chunks)

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

    def plan(self, plan_file: Path, destroy: bool = False, stream: bool = False) -> tuple[CommandResult, PlanMetadata]:
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


def orphaned_own_lock(result: CommandResult, started_at: datetime, data_dir: Path) -> str:
    """The ID of a lock the failed command took itself, or ''.

    The AWS SDK inside Terraform retries a lock write whose answer it lost; the retry then finds the lock the
    first attempt took, and Terraform waits on its own lock until -lock-timeout and exits, leaving it held.
    Such a lock names this user and host and this command's operation, was created while the command ran,
    and no Terraform process working in the same TF_DATA_DIR (same environment, stack, target) is running.
    """
    if result.returncode == 0 or result.command not in LOCKING_OPERATIONS:
        return ""
    match = LOCK_INFO.search(result.stderr)
    if match is None:
        return ""
    created = hints.parse_time(match["created"])
    ours = (
        match["who"] == f"{getpass.getuser()}@{socket.gethostname()}"
        and match["operation"] == LOCKING_OPERATIONS[result.command]
        and created is not None
        and created >= started_at - timedelta(seconds=1)
    )
    return match["id"] if ours and not _terraform_running_in(data_dir) else ""


def _terraform_running_in(data_dir: Path) -> bool:
    marker = f"TF_DATA_DIR={data_dir}".encode()
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "terraform" and marker in (comm.parent / "environ").read_bytes().split(
                b"\0"
            ):
                return True
        except OSError:
            continue
    return False


def _errors_only(text: str) -> str:
    """Terraform's error blocks without the CLI-configuration warning this image always prints."""
    blocks = text.split("\n\n")
    kept = [b for b in blocks if "CLI configuration" not in b and "Unable to open CLI configuration" not in b]
    return "\n\n".join(kept).strip() or text.strip()
