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


class _EmulatorOnFirstUse:
    """``ctx.target``: on target local, the emulator is started (``ensure_emulator``) when the target is first
    used, not when the context is built. A plain field otherwise: ``dataclasses.replace(ctx, target=...)`` works."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = f"_{name}"

    def __get__(self, ctx: StageContext | None, owner: type | None = None) -> AwsTarget:
        if ctx is None:
            raise AttributeError(self.slot)  # no class-level default: the field stays required
        if ctx.__dict__[self.slot].is_local and not ctx.__dict__[self.slot].endpoint_url:
            ctx.ensure_emulator()
        return ctx.__dict__[self.slot]

    def __set__(self, ctx: StageContext, target: AwsTarget) -> None:
        ctx.__dict__[self.slot] = target


@dataclass
class StageContext:
    """What a stage works on. Building one reads the settings and nothing else: it starts no emulator and makes
    no folder (``begin`` and ``ensure_emulator`` do, explicitly; ``stages.start`` calls both)."""

    stage: str
    settings: EnvironmentSettings
    target: AwsTarget = _EmulatorOnFirstUse()  # type: ignore[assignment]
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
        return self._target.region

    @property
    def terraform_data_dir(self) -> Path:
        """Per environment, target and stack, so environments never share .terraform/ (made by whoever runs
        Terraform in it)."""
        return config.state_dir() / "terraform" / f"{self.stack}-{self.environment}-{self._target.name}"

    def ensure_emulator(self) -> StageContext:
        """On target local: start the emulator when none runs (reuse it otherwise), and refuse a stage whose
        run's earlier stages used an emulator that has since been restarted. Nothing on target aws."""
        target = self._target
        if target.is_local and not target.endpoint_url:
            with timings.measure("emulator start"):
                endpoint = emulator.endpoint()
            self._target = replace(target, endpoint_url=endpoint)
            self.run_dir.mkdir(parents=True, exist_ok=True)
            emulator_sharing.check_instance(self.run_dir, self.stage, self.environment)
        return self

    def begin(self) -> StageContext:
        """Make this process the stage's: its run directory, its timings file and the record a failure leaves."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        timings.record_to(self.run_dir / "stages" / f"{self.stage}.timings.json")
        stage_records.watch(self.run_dir, self.stage)
        return self

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
            ["target", self._target.describe()],
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
    """Validate the notebook's parameters, each against its declared type, and build the stage's context.

    ``parameters`` are the stage's own (auto_approve, confirm, ...): a notebook passes them here so that a
    wrong type stops the stage as it opens, before anything runs. Nothing else happens: the emulator starts
    when the target is first used (or at ``ensure_emulator``), folders are made where they are written.
    """
    common = {"environment": environment, "target": target, "stack": stack, "region": region, "run_dir": run_dir}
    registry.check(stage, {**common, **parameters})
    config.validate_target(target)
    settings = config.load_environment(environment)
    stack_label, stack_dir = config.resolve_stack(stack or DEFAULT_STACK_FOR_TARGET[target])
    if profile and target == "local":
        raise UsageError("profile is only used with target aws", "drop the profile or pass target='aws'")
    aws_target = AwsTarget(target, region or settings.region, "", profile or os.environ.get("AWS_PROFILE", ""))
    directory = Path(run_dir).resolve() if run_dir else default_run_dir(environment)
    return StageContext(stage, settings, aws_target, stack_label, stack_dir, directory)


def start_stage(stage: str, environment: str = "dev", target: str = "local", **options: Any) -> StageContext:
    """What a notebook's first cell does (``stages.start``): open the stage, begin it in this process, and on
    target local start the emulator (or reuse the running one) before the stage's first step."""
    return open_stage(stage, environment, target, **options).begin().ensure_emulator()
