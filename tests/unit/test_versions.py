import pytest

from aipx_runbook import versions


@pytest.mark.parametrize(
    ("version", "constraint", "expected"),
    [
        ("1.11.4", ">= 1.5.0", True),
        ("1.4.7", ">= 1.5.0", False),
        ("1.5.0", ">= 1.5.0", True),
        ("1.0.3", ">= 1.0.0", True),
        ("1.11.4", ">= 1.5.0, < 2.0.0", True),
        ("2.0.0", ">= 1.5.0, < 2.0.0", False),
        ("1.9.9", "~> 1.5", True),
        ("2.0.0", "~> 1.5", False),
        ("1.5.9", "~> 1.5.0", True),
        ("1.6.0", "~> 1.5.0", False),
        ("1.6.0", "!= 1.6.0", False),
        ("1.6.0", "1.6.0", True),
    ],
)
def test_constraints(version: str, constraint: str, expected: bool) -> None:
    assert versions.satisfies(versions.parse_version(version), constraint) is expected


def test_unreadable_constraint_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot read version constraint"):
        versions.satisfies((1, 0, 0), ">= banana")


def test_minimum_of_a_range() -> None:
    assert versions.minimum_of(">= 1.5.0, < 2.0.0") == (1, 5, 0)


def test_parse_version_from_cli_text() -> None:
    assert versions.parse_version("Terraform v1.11.4\non linux_amd64") == (1, 11, 4)


def test_smoke_stack_runs_on_terraform_1_0(tmp_path) -> None:
    from aipx_runbook import config

    constraint = versions.required_version(config.project_root() / "terraform" / "smoke")
    assert versions.satisfies((1, 0, 3), constraint)
