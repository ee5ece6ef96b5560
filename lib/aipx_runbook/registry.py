"""The one registry of stages: number, name, notebook and each parameter with its declared type, default, help.

The runner, the CLI, the stages' ``start()`` and the docs read it; a static test checks that every notebook's
parameters cell declares exactly these parameters. Values are checked strictly against the declared type:
papermill and shells pass strings, and the string "false" is truthy in Python, so a boolean gate accepts only
a real ``bool``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import config
from .errors import UsageError

# The exact spellings the CLI's `-p NAME=VALUE` maps to a bool (papermill's own `-p` maps only True and False).
CLI_BOOLEANS = {"True": True, "true": True, "False": False, "false": False}


@dataclass(frozen=True)
class Parameter:
    name: str
    type: type
    default: Any = field(hash=False)  # a list default (exclude) is not hashable
    help: str

    @property
    def type_name(self) -> str:
        return self.type.__name__

    def accepted(self) -> str:
        return "True or False (a bool, not text)" if self.type is bool else f"a {self.type_name}"

    def source(self) -> str:
        """The line of the notebook's parameters cell that declares it."""
        default = f'"{self.default}"' if isinstance(self.default, str) else repr(self.default)
        return f"{self.name} = {default}  # type: {self.type_name} {self.help}"


@dataclass(frozen=True)
class Stage:
    number: str
    name: str
    notebook: str
    parameters: tuple[Parameter, ...]
    in_default_run: bool = True

    @property
    def label(self) -> str:
        return f"{self.number} {self.name}"

    @property
    def path(self) -> Path:
        return config.project_root() / "notebooks" / self.notebook

    def parameter(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)


def _common(*names: str) -> tuple[Parameter, ...]:
    return tuple(p for p in COMMON if p.name in names)


COMMON: tuple[Parameter, ...] = (
    Parameter("environment", str, "dev", "Environment: dev, staging or production"),
    Parameter("target", str, "local", "local (emulator; no AWS account is touched) or aws (a real account)"),
    Parameter(
        "stack", str, "smoke", "smoke (provider-free pre-flight), aipx (terraform/aws) or a path to a root module"
    ),
    Parameter("region", str, "", "AWS region; empty means the environment's region in environments/<env>/runbook.toml"),
    Parameter("run_dir", str, "", "Where plans and records go; empty means runs/<environment>/current"),
)
COMMON_NAMES = tuple(p.name for p in COMMON)
ALL_COMMON = _common(*COMMON_NAMES)

STAGES: tuple[Stage, ...] = (
    Stage("00", "prerequisites", "00_prerequisites.ipynb", ALL_COMMON),
    Stage(
        "01",
        "backend",
        "01_backend_setup.ipynb",
        (
            *ALL_COMMON,
            Parameter("fix_drift", bool, False, "Apply missing settings to an existing, non-compliant bucket"),
        ),
    ),
    Stage("02", "init", "02_init.ipynb", ALL_COMMON),
    Stage(
        "03",
        "plan",
        "03_plan.ipynb",
        (
            *ALL_COMMON,
            Parameter(
                "exclude",
                list,
                [],
                "Resource addresses to leave out, with all that depends on them (a -target plan); empty: the whole "
                "stack",
            ),
        ),
    ),
    Stage(
        "04",
        "apply",
        "04_apply.ipynb",
        (
            *ALL_COMMON,
            Parameter(
                "auto_approve",
                bool,
                False,
                "Approve applying the saved plan in a headless run (required for any change)",
            ),
            Parameter("confirm", str, "", "Production only: type production to approve a headless apply"),
            Parameter(
                "expected_plan",
                str,
                "",
                "The reviewed plan's tfplan.record.json (from the pull request's artifact): refuse any other plan; "
                "empty: no check",
            ),
        ),
    ),
    Stage(
        "05",
        "verify",
        "05_verify_outputs.ipynb",
        (*ALL_COMMON, Parameter("reveal_sensitive", bool, False, "Show sensitive outputs (interactive sessions only)")),
    ),
    Stage(
        "06",
        "destroy",
        "06_destroy.ipynb",
        (
            *ALL_COMMON,
            Parameter(
                "exclude",
                list,
                [],
                "Resource addresses to keep, with all they depend on (a -target destroy plan); empty: everything",
            ),
            Parameter("confirm", str, "", "Type the environment's name to approve destroying it"),
            Parameter("allow_production_destroy", bool, False, "Second approval, required for production"),
        ),
    ),
    Stage(
        "07",
        "state",
        "07_state_and_locks.ipynb",
        (
            *ALL_COMMON,
            Parameter(
                "state_address",
                str,
                "",
                "A resource address to show, e.g. module.vpc.aws_vpc.this[0]; empty shows none",
            ),
            Parameter("confirm_lock_id", str, "", "The held lock's ID, to release it; empty releases nothing"),
        ),
        in_default_run=False,
    ),
    Stage(
        "08",
        "budget",
        "08_budget.ipynb",
        ALL_COMMON,
        in_default_run=False,
    ),
)


def find(name: str) -> Stage | None:
    """A stage by number (03), name (plan) or notebook stem (03_plan)."""
    return next((s for s in STAGES if name in (s.number, s.name, s.notebook.removesuffix(".ipynb"))), None)


class ParameterError(UsageError):
    """A parameter whose value is not of its declared type: the stage stops before doing anything."""

    def __init__(self, stage: str, parameter: Parameter, value: Any) -> None:
        super().__init__(
            f"parameter {parameter.name} is {value!r} (a {type(value).__name__}); it accepts {parameter.accepted()}",
            _fix(parameter),
        )
        self.what = f"check the parameters of stage {stage}"
        self.parameter = parameter
        self.value = value


def _fix(parameter: Parameter) -> str:
    if parameter.type is bool:
        return (
            f"in JupyterLab set `{parameter.name} = True` or `{parameter.name} = False` in the notebook's parameters "
            f"cell; papermill: `-p {parameter.name} True` or `-p {parameter.name} False` (papermill makes exactly "
            f"True and False booleans, any other text stays a string); aipx-runbook run: "
            f"`-p {parameter.name}=True` or `-p {parameter.name}=False` (true/false also accepted)"
        )
    return (
        f'in JupyterLab set `{parameter.name} = "..."` in the notebook\'s parameters cell; papermill: '
        f"`-r {parameter.name} VALUE` (raw: papermill's `-p` turns numbers, True, False and None into other types); "
        f"aipx-runbook run: `-p {parameter.name}=VALUE`"
    )


def check_value(stage: str, parameter: Parameter, value: Any) -> Any:
    """The value when it has the parameter's declared type exactly (a bool is no int, an int no bool)."""
    if type(value) is not parameter.type:
        raise ParameterError(stage, parameter, value)
    return value


def check(stage_name: str, values: dict[str, Any]) -> dict[str, Any]:
    """Every value checked against its declared type; an unknown name for a registered stage is refused.

    The common parameters are checked for every stage, registered or not (the CLI's budget, pause and resume).
    """
    stage = find(stage_name)
    label = stage.label if stage else stage_name
    declared = {p.name: p for p in (*COMMON, *(stage.parameters if stage else ()))}
    for name, value in values.items():
        parameter = declared.get(name)
        if parameter is None:
            if stage is None:
                continue
            own = ", ".join(p.name for p in stage.parameters if p.name not in COMMON_NAMES) or "none"
            raise UsageError(
                f"stage {label} has no parameter '{name}'; its own parameters: {own}",
                "check the name against `aipx-runbook stages`",
            )
        check_value(label, parameter, value)
    return values


def parse_cli(name: str, text: str, stages: Iterable[Stage]) -> Any:
    """A `-p NAME=VALUE` text as the declared type of NAME in the selected stages (exit 2 when it is none)."""
    declared = [p for s in stages for p in s.parameters if p.name == name]
    if not declared:
        return text
    parameter = declared[0]
    if parameter.type is bool:
        if text not in CLI_BOOLEANS:
            raise UsageError(
                f"parameter {name} is {text!r}; it accepts exactly True, False, true or false",
                f"pass -p {name}=True or -p {name}=False",
            )
        return CLI_BOOLEANS[text]
    if parameter.type is str:
        return text
    if parameter.type is list:  # -p exclude=a.b,c.d: a comma-separated list of names
        return [item for item in re.split(r"[,\s]+", text.strip()) if item]
    try:
        return parameter.type(text)
    except ValueError:
        accepted = parameter.accepted()
        raise UsageError(
            f"parameter {name} is {text!r}; it accepts {accepted}", f"pass -p {name}=<{accepted}>"
        ) from None
