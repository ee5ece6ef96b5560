"""The context every stage runs in: environment, target, stack and run directory, validated once."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from . import config, emulator, emulator_sharing, registry, stage_records, timings
from .aws import AwsTarget
from .config import EnvironmentSettings
from .errors import UsageError
from .results import Report, Table

DEFAULT_STACK_FOR_TARGET = {"local": "smoke", "aws": "aipx"}


@dataclass
class StageContext:
    stage: str
    settings: EnvironmentSettings
    target: AwsTarget
    stack: str
    stack_dir: Path
    run_dir: Path

    def __post_init__(self) -> None:
        # Each stack has its own state key, however the context was built. A context derived from another one
        # (dataclasses.replace, e.g. the backend-only module that releases a lock) keeps the key it was given.
        if not self.settings.state_prefix:
            self.settings = replace(self.settings, state_prefix=config.state_prefix(self.stack_dir))

    @property
    def environment(self) -> str:
        return self.settings.name

    @property
    def region(self) -> str:
        return self.target.region

    @property
    def terraform_data_dir(self) -> Path:
        """Per environment, target and stack, so environments never share .terraform/."""
        path = config.state_dir() / "terraform" / f"{self.stack}-{self.environment}-{self.target.name}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def record(self, report: Report, part: str = "") -> Report:
        """Keep the stage's status and headline facts in the run directory for summary.json (a ``part`` of the
        stage, like the plan's cost, goes beside it) and its charts for the run's index page."""
        folder = self.run_dir / "stages"
        folder.mkdir(parents=True, exist_ok=True)
        record = {"stage": self.stage, "status": report.status, "summary": report.summary, "facts": report.facts}
        record.update(title=report.title, figures=report.figures)
        name = f"{self.stage}.{part}" if part else self.stage
        (folder / f"{name}.json").write_text(json.dumps(record, indent=2, default=str))
        return report

    def report(self) -> Report:
        rows = [
            ["environment", self.environment],
            ["target", self.target.describe()],
            ["stack", f"{self.stack} ({_relative(self.stack_dir)})"],
            ["region", self.region],
            ["state", f"s3://{self.settings.state_bucket}/{self.settings.state_key}"],
            ["run directory", _relative(self.run_dir)],
        ]
        return Report(f"Stage {self.stage}", "info", tables=[Table(["setting", "value"], rows)])

    def _repr_html_(self) -> str:
        return self.report()._repr_html_()

    def __str__(self) -> str:
        return str(self.report())

    __repr__ = __str__


def _relative(path: Path) -> str:
    for base in (config.workspace_root(), config.project_root()):
        try:
            return str(path.relative_to(base))
        except ValueError:
            continue
    return str(path)


def default_run_dir(environment: str) -> Path:
    """Where stage-by-stage runs (JupyterLab, plain papermill) keep plans and records."""
    return config.workspace_root() / "runs" / environment / "current"


def open_stage(
    stage: str,
    environment: str = "dev",
    target: str = "local",
    stack: str = "",
    region: str = "",
    run_dir: str = "",
    profile: str = "",
    **parameters: Any,
) -> StageContext:
    """Validate the notebook's parameters, each against its declared type, and prepare the target.

    ``parameters`` are the stage's own (auto_approve, confirm, ...): a notebook passes them here so that a
    wrong type stops the stage as it opens, before anything runs. With target ``local`` the emulator is
    started when none runs, and reused otherwise.
    """
    common = {"environment": environment, "target": target, "stack": stack, "region": region, "run_dir": run_dir}
    registry.check(stage, {**common, **parameters})
    config.validate_target(target)
    settings = config.load_environment(environment)
    stack_label, stack_dir = config.resolve_stack(stack or DEFAULT_STACK_FOR_TARGET[target])
    if profile and target == "local":
        raise UsageError("profile is only used with target aws", "drop the profile or pass target='aws'")
    with timings.measure("emulator start"):
        endpoint = emulator.endpoint() if target == "local" else ""
    aws_target = AwsTarget(target, region or settings.region, endpoint, profile or os.environ.get("AWS_PROFILE", ""))
    directory = Path(run_dir).resolve() if run_dir else default_run_dir(environment)
    directory.mkdir(parents=True, exist_ok=True)
    timings.record_to(directory / "stages" / f"{stage}.timings.json")
    stage_records.watch(directory, stage)
    if target == "local":
        emulator_sharing.check_instance(directory, stage, environment)
    return StageContext(stage, settings, aws_target, stack_label, stack_dir, directory)
