"""Environments, targets and stacks: names, validation and per-environment settings."""

from __future__ import annotations

import hashlib
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import filecache, parsing
from .aws import LOCAL_ACCOUNT_ID
from .errors import UsageError

TARGETS = ("local", "aws")
STACKS = {"smoke": "terraform/smoke", "aipx": "terraform/aws"}
LOCKING_MODES = ("dynamodb", "lockfile", "both")
DEFAULT_REGION = "ap-northeast-2"
SETTINGS_FILE = "runbook.toml"
# The state backend's names when runbook.toml names none ([backend] bucket, lock_table).
DEFAULT_STATE_BUCKET = "aipx-terraform-state"
DEFAULT_LOCK_TABLE = "aipx-terraform-locks"


def project_root() -> Path:
    """The checkout holding environments/ and terraform/ (AIPX_PROJECT_ROOT overrides)."""
    override = os.environ.get("AIPX_PROJECT_ROOT")
    if override:
        return Path(override).resolve()
    candidates = [Path.cwd(), *Path.cwd().parents, *Path(__file__).resolve().parents]
    for candidate in candidates:
        if (candidate / "environments").is_dir() and (candidate / "terraform").is_dir():
            return candidate
    raise UsageError(
        "cannot find the AIPX project (a folder with environments/ and terraform/)",
        "run from inside the checkout, or set AIPX_PROJECT_ROOT to it",
    )


def workspace_root() -> Path:
    """Where runs/ and the runbook's own state (.aipx/) live; AIPX_WORKSPACE overrides."""
    override = os.environ.get("AIPX_WORKSPACE")
    return Path(override).resolve() if override else project_root()


def state_dir() -> Path:
    """The private store: owner-only, the one place where variables, plans and state content are written."""
    path = workspace_root() / ".aipx"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)
    return path


def known_environments() -> list[str]:
    root = project_root() / "environments"
    return sorted(p.name for p in root.iterdir() if (p / SETTINGS_FILE).is_file())


def _choose(kind: str, value: str, known: list[str] | tuple[str, ...]) -> str:
    if value not in known:
        raise UsageError(f"unknown {kind} '{value}'; known: {', '.join(sorted(known))}")
    return value


def validate_environment(name: str) -> str:
    return _choose("environment", name, known_environments())


def validate_target(name: str) -> str:
    return _choose("target", name, TARGETS)


def resolve_stack(stack: str) -> tuple[str, Path]:
    """A stack name (smoke, aipx) or a path to another root module → (label, directory)."""
    if stack in STACKS:
        return stack, project_root() / STACKS[stack]
    path = Path(stack).expanduser()
    if not path.is_absolute():
        path = project_root() / path
    if path.is_dir() and any(path.glob("*.tf")):
        return path.name, path.resolve()
    raise UsageError(
        f"unknown stack '{stack}'; known: {', '.join(sorted(STACKS))}, or a path to a Terraform root module",
        "pass --stack smoke, --stack aipx, or the path of a folder holding .tf files",
    )


AIPX_STATE_PREFIX = "aws"


def state_key(environment: str, prefix: str = AIPX_STATE_PREFIX) -> str:
    """One state object per stack and environment: the seed's single key would make environments share state,
    and one key for every stack would make one stack's plan destroy another's resources."""
    return f"{prefix}/{environment}/terraform.tfstate"


def state_prefix(stack_dir: Path) -> str:
    """The state key prefix of a stack: ``aws`` for the AIPX stack (terraform/aws, by name or by path), ``smoke``
    for terraform/smoke, ``stacks/<path in the checkout>`` for another root module inside the checkout, and
    ``stacks/<folder>-<hash of its absolute path>`` for one outside it."""
    stack_dir = stack_dir.resolve()
    root = project_root()
    if stack_dir == (root / STACKS["aipx"]).resolve():
        return AIPX_STATE_PREFIX
    if stack_dir == (root / STACKS["smoke"]).resolve():
        return "smoke"
    try:
        return "stacks/" + stack_dir.relative_to(root.resolve()).as_posix()
    except ValueError:
        return f"stacks/{stack_dir.name}-{hashlib.sha256(str(stack_dir).encode()).hexdigest()[:8]}"


@dataclass(frozen=True)
class BudgetSettings:
    monthly_limit_usd: float = 500.0
    notify_emails: tuple[str, ...] = ()
    threshold_percents: tuple[float, ...] = (80.0, 100.0)


@dataclass(frozen=True)
class EnvironmentSettings:
    """environments/<env>/runbook.toml, the runbook's settings for one environment."""

    name: str
    region: str = DEFAULT_REGION
    account_id: str = ""
    local_account_id: str = LOCAL_ACCOUNT_ID
    state_bucket: str = DEFAULT_STATE_BUCKET
    lock_table: str = DEFAULT_LOCK_TABLE
    locking: str = "dynamodb"
    bucket_encryption: str = "aws:kms"
    budget: BudgetSettings = field(default_factory=BudgetSettings)
    # The stack's state key prefix (see state_prefix); a StageContext sets it from its stack when it is empty.
    state_prefix: str = ""

    @property
    def state_key(self) -> str:
        return state_key(self.name, self.state_prefix or AIPX_STATE_PREFIX)

    @property
    def directory(self) -> Path:
        return project_root() / "environments" / self.name

    @property
    def tfvars(self) -> Path:
        return self.directory / "aws.tfvars"


def load_environment(name: str) -> EnvironmentSettings:
    validate_environment(name)
    return _settings_from(project_root() / "environments" / name / SETTINGS_FILE)


@filecache.by_content
def _settings_from(path: Path) -> EnvironmentSettings:
    name = path.parent.name
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"{path} is not valid TOML: {error}", f"fix the syntax in {path}") from error
    _check_types(raw, path)
    backend = raw.get("backend", {})
    budget = raw.get("budget", {})
    settings = EnvironmentSettings(
        name=name,
        region=raw.get("region", DEFAULT_REGION),
        account_id=str(raw.get("account_id", "")),
        local_account_id=str(raw.get("local_account_id", LOCAL_ACCOUNT_ID)),
        state_bucket=backend.get("bucket", DEFAULT_STATE_BUCKET),
        lock_table=backend.get("lock_table", DEFAULT_LOCK_TABLE),
        locking=backend.get("locking", "dynamodb"),
        bucket_encryption=backend.get("encryption", "aws:kms"),
        budget=BudgetSettings(
            monthly_limit_usd=float(budget.get("monthly_limit_usd", 500)),
            notify_emails=tuple(budget.get("notify_emails", ())),
            threshold_percents=tuple(float(p) for p in budget.get("threshold_percents", (80, 100))),
        ),
    )
    _choose("locking mode in " + str(path), settings.locking, LOCKING_MODES)
    _choose("bucket encryption in " + str(path), settings.bucket_encryption, ("aws:kms", "AES256"))
    return settings


SETTING_TYPES: dict[tuple[str, ...], tuple[type, ...]] = {
    ("region",): (str,),
    ("account_id",): (str, int),
    ("local_account_id",): (str, int),
    ("backend", "bucket"): (str,),
    ("backend", "lock_table"): (str,),
    ("backend", "locking"): (str,),
    ("backend", "encryption"): (str,),
    ("budget", "monthly_limit_usd"): (int, float),
    ("budget", "notify_emails"): (list,),
    ("budget", "threshold_percents"): (list,),
}


def _check_types(raw: dict[str, Any], path: Path) -> None:
    """Each known setting has its type: `region = 5` is named with its file and line, not a crash later."""
    from .errors import RunbookError

    for keys, types in SETTING_TYPES.items():
        value: Any = raw
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None or (isinstance(value, types) and not isinstance(value, bool)):
            continue
        lines = path.read_text().splitlines()
        line = next((n for n, text in enumerate(lines, 1) if text.strip().startswith(f"{keys[-1]} ")), 0)
        wanted = " or ".join(
            {"str": "a string", "int": "a number", "float": "a number", "list": "a list"}[t.__name__] for t in types
        )
        raise RunbookError(
            f"read {path.name}",
            f"{path}{f' line {line}' if line else ''}: {'.'.join(keys)} must be {wanted}, not {value!r}",
            f'fix {".".join(keys)} in {path}, e.g. region = "ap-northeast-2" (strings are quoted in TOML)',
        )


@filecache.by_content
def read_tfvars(path: Path) -> dict[str, Any]:
    """A .tfvars file as plain Python values (python-hcl2 keeps string quotes; they are removed, and so are its
    own markers such as ``__comments__`` (python-hcl2 8), which are not variables)."""
    raw = parsing.load_hcl(path)
    return {name: _unquote(value) for name, value in raw.items() if not name.startswith("__")}


def _unquote(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    if isinstance(value, list):
        return [_unquote(v) for v in value]
    if isinstance(value, dict):
        return {_unquote(k): _unquote(v) for k, v in value.items()}
    return value
