"""The stage registry: one list of stages and typed parameters, checked against the notebooks and applied strictly."""

from __future__ import annotations

import ast

import nbformat
import papermill
import pytest

from aipx_runbook import registry, stages
from aipx_runbook.errors import UsageError

BOOLEAN_GATES = [
    ("apply", "auto_approve"),
    ("destroy", "allow_production_destroy"),
    ("backend", "fix_drift"),
    ("verify", "reveal_sensitive"),
]


@pytest.mark.parametrize("stage", registry.STAGES, ids=lambda s: s.notebook)
def test_registry_agrees_with_each_notebooks_parameters_cell(stage) -> None:
    declared = papermill.inspect_notebook(str(stage.path))
    assert list(declared) == [p.name for p in stage.parameters]
    for parameter in stage.parameters:
        seen = declared[parameter.name]
        assert seen["inferred_type_name"] == parameter.type_name, parameter.name
        assert ast.literal_eval(seen["default"]) == parameter.default, parameter.name
        assert type(ast.literal_eval(seen["default"])) is parameter.type, parameter.name
        assert seen["help"] == parameter.help, parameter.name


@pytest.mark.parametrize("stage", registry.STAGES, ids=lambda s: s.notebook)
def test_each_notebook_passes_its_own_parameters_to_start(stage) -> None:
    """The stage opens with every parameter checked: the notebook hands all of them to stages.start()."""
    notebook = nbformat.read(stage.path, as_version=4)
    call = next(c.source for c in notebook.cells if c.cell_type == "code" and "stages.start(" in c.source)
    for parameter in stage.parameters:
        assert f"{parameter.name}={parameter.name}" in call, (stage.notebook, parameter.name)


@pytest.mark.parametrize(("stage", "name"), BOOLEAN_GATES)
@pytest.mark.parametrize("value", ["false", "False", "no", "off", "", "0", 0, 1, None, "True"])
def test_a_boolean_gate_accepts_only_a_real_bool(stage, name, value) -> None:
    with pytest.raises(registry.ParameterError) as caught:
        registry.check(stage, {name: value})
    error = caught.value
    assert error.what.startswith("check the parameters of stage ")
    assert f"parameter {name} is {value!r}" in error.why and "True or False" in error.why
    assert "parameters cell" in error.fix and f"-p {name} True" in error.fix
    assert registry.check(stage, {name: False}) == {name: False}


def test_a_stage_function_checks_its_gate_before_doing_anything(tmp_path) -> None:
    """Called directly (not through a notebook), apply still refuses a text gate: no context is even read."""
    with pytest.raises(registry.ParameterError, match="auto_approve is 'false'"):
        stages.apply(None, auto_approve="false", confirm="production")  # type: ignore[arg-type]
    with pytest.raises(registry.ParameterError, match="allow_production_destroy is 'False'"):
        stages.destroy(None, confirm="production", allow_production_destroy="False")  # type: ignore[arg-type]


def test_start_refuses_a_wrong_type_before_the_stage_opens(workspace) -> None:
    with pytest.raises(registry.ParameterError, match="auto_approve is 'false'"):
        stages.start("apply", "production", auto_approve="false", confirm="production")
    with pytest.raises(registry.ParameterError, match="parameter environment is 5"):
        stages.start("plan", environment=5)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="stage 04 apply has no parameter 'auto_aprove'"):
        stages.start("apply", "dev", auto_aprove=True)


@pytest.mark.parametrize(("text", "value"), [("True", True), ("true", True), ("False", False), ("false", False)])
def test_the_cli_maps_exactly_four_spellings_to_a_bool(text, value) -> None:
    assert registry.parse_cli("auto_approve", text, [registry.find("apply")]) is value


@pytest.mark.parametrize("text", ["no", "off", "", "0", "1", "yes", "FALSE", " false"])
def test_the_cli_refuses_any_other_bool_text(text) -> None:
    with pytest.raises(UsageError, match="it accepts exactly True, False, true or false"):
        registry.parse_cli("auto_approve", text, [registry.find("apply")])


def test_the_cli_keeps_text_parameters_as_text() -> None:
    """papermill's -p would turn confirm=123 into an int and confirm=None into None; the registry says str."""
    apply = [registry.find("apply")]
    assert registry.parse_cli("confirm", "123", apply) == "123"
    assert registry.parse_cli("confirm", "None", apply) == "None"
