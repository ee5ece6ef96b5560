"""contract.py against the stack it mirrors: terraform/aws read with python-hcl2, as the runbook reads tfvars."""

from __future__ import annotations

from typing import Any

from aipx_runbook import contract, parsing
from paths import PROJECT_ROOT

STACK = PROJECT_ROOT / "terraform" / "aws"


def _unquote(value: str) -> str:
    return value.strip('"')


def _locals(name: str) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for block in parsing.load_hcl(STACK / name).get("locals", []):
        merged.update(block)
    return merged


def _blocks(name: str, kind: str) -> dict[str, Any]:
    return {
        _unquote(key): body for block in parsing.load_hcl(STACK / name).get(kind, []) for key, body in block.items()
    }


def test_each_component_is_a_file_of_the_stack() -> None:
    for component in contract.COST_COMPONENTS:
        assert (STACK / f"{component}.tf").is_file(), component
    assert set(contract.COST_COMPONENTS) - set(contract.COMPONENTS) == {"logs"}


def test_names_follow_the_stack() -> None:
    assert _unquote(_blocks("variables.tf", "variable")["project"]["default"]) == contract.PROJECT
    assert _unquote(_locals("locals.tf")["name"]) == "${var.project}-${var.environment}"
    assert _locals("compute.tf")["ecs_cluster_name"] == "${local.name}"
    assert contract.ecs_cluster_name("staging") == contract.name_prefix("staging") == "aipx-staging"


def test_services_and_functions_are_the_stacks() -> None:
    found = _locals("locals.tf")
    assert tuple(map(_unquote, found["ecs_service_names"])) == contract.ECS_SERVICES
    assert tuple(map(_unquote, found["lambda_function_names"])) == contract.LAMBDA_FUNCTIONS


def test_every_output_verify_reads_is_declared() -> None:
    declared = set(_blocks("outputs.tf", "output"))
    assert set(contract.OUTPUTS) <= declared, set(contract.OUTPUTS) - declared


def test_the_mask_is_one_value_everywhere() -> None:
    from aipx_runbook import review, state

    assert review.MASK is state.MASK is contract.MASK
