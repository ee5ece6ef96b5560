"""pyproject.toml and environment.yml name the same dependencies with the same version ranges."""

import re
import tomllib

import yaml

from aipx_runbook import config

# pip name → conda-forge name(s); moto's [server] extra is flask and flask-cors on conda-forge
CONDA_NAMES = {"moto[server]": ["moto", "flask", "flask-cors"]}
PIP_ONLY = {"python-terraform"}
REQUIREMENT = re.compile(r"^([A-Za-z0-9_.\-\[\]]+)\s*(.*)$")


def _split(requirement: str) -> tuple[str, str]:
    name, spec = REQUIREMENT.match(requirement.strip()).groups()
    return name.lower(), spec.replace(" ", "")


def _pyproject() -> dict[str, str]:
    project = tomllib.loads((config.project_root() / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["test"]
    return dict(_split(r) for r in requirements)


def _environment() -> tuple[dict[str, str], dict[str, str]]:
    document = yaml.safe_load((config.project_root() / "environment.yml").read_text())
    conda, pip = {}, {}
    for entry in document["dependencies"]:
        if isinstance(entry, dict):
            pip.update(_split(line) for line in entry["pip"] if not line.startswith("-"))
        else:
            name, spec = _split(entry)
            conda[name] = spec
    return conda, pip


def test_environment_yml_names_every_python_dependency_with_the_same_range() -> None:
    conda, pip = _environment()
    for name, spec in _pyproject().items():
        if name in PIP_ONLY:
            assert pip.get(name) == spec, f"{name}{spec} must be in environment.yml's pip section"
            continue
        names = CONDA_NAMES.get(name, [name])
        assert names[0] in conda, f"{name} is in pyproject.toml but not in environment.yml"
        assert conda[names[0]] == spec, f"{name}: pyproject says {spec!r}, environment.yml says {conda[names[0]]!r}"
        for extra in names[1:]:
            assert extra in conda, f"{extra} (part of {name}) is missing from environment.yml"


def test_environment_yml_has_nothing_pyproject_lacks() -> None:
    conda, pip = _environment()
    declared = {n for name in _pyproject() for n in CONDA_NAMES.get(name, [name])}
    extra = set(conda) - declared - {"python", "pip", "terraform"}
    assert not extra, f"environment.yml names {sorted(extra)} which pyproject.toml does not"
    assert set(pip) == PIP_ONLY


def test_user_requested_dependencies_are_declared() -> None:
    names = {name.split("[")[0] for name in _pyproject()}
    assert {"jupyterlab", "papermill", "boto3", "python-terraform", "ipywidgets", "nbval", "moto"} <= names
