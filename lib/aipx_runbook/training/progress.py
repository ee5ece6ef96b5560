"""The trainee's progress, kept in the workspace: ``<workspace>/.aipx/training.json``."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from .. import config


def path() -> Path:
    return config.state_dir() / "training.json"


def load() -> dict[str, dict[str, Any]]:
    file = path()
    if not file.exists():
        return {}
    try:
        return json.loads(file.read_text()).get("drills", {})
    except ValueError:
        return {}


def _save(drills: dict[str, dict[str, Any]]) -> None:
    file = path()
    partial = file.with_name(file.name + ".partial")
    partial.write_text(json.dumps({"drills": drills}, indent=2, default=str))
    os.replace(partial, file)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def record_setup(name: str, environment: str, remembered: dict[str, Any]) -> None:
    drills = load()
    entry = drills.get(name, {})
    entry.update(status="set up", environment=environment, set_up_at=_now(), scene=remembered)
    drills[name] = entry
    _save(drills)


def record_check(name: str, passed: bool) -> None:
    drills = load()
    entry = drills.setdefault(name, {})
    entry["checks"] = entry.get("checks", 0) + 1
    entry["checked_at"] = _now()
    if passed:
        entry["status"] = "passed"
        entry["passed_at"] = entry["checked_at"]
    elif entry.get("status") != "passed":
        entry["status"] = "not yet"
    _save(drills)


def scene(name: str) -> dict[str, Any]:
    return load().get(name, {}).get("scene", {})


def status(name: str) -> str:
    return load().get(name, {}).get("status", "not started")
