import pytest

from aipx_runbook import config
from aipx_runbook.errors import UsageError


def test_known_environments_are_the_environment_folders() -> None:
    assert config.known_environments() == ["dev", "production", "staging"]


def test_unknown_environment_lists_the_known_ones() -> None:
    with pytest.raises(UsageError) as caught:
        config.validate_environment("prod")
    assert caught.value.why == "unknown environment 'prod'; known: dev, production, staging"


def test_unknown_target_lists_the_known_ones() -> None:
    with pytest.raises(UsageError, match="unknown target 'cloud'; known: aws, local"):
        config.validate_target("cloud")


def test_stack_names_and_paths() -> None:
    assert config.resolve_stack("smoke")[1] == config.project_root() / "terraform" / "smoke"
    assert config.resolve_stack("terraform/smoke") == ("smoke", config.project_root() / "terraform" / "smoke")
    with pytest.raises(UsageError, match="unknown stack 'nope'; known: aipx, smoke"):
        config.resolve_stack("nope")


def test_every_environment_has_its_own_state_key() -> None:
    keys = {config.load_environment(env).state_key for env in config.known_environments()}
    assert keys == {"aws/dev/terraform.tfstate", "aws/staging/terraform.tfstate", "aws/production/terraform.tfstate"}


def test_settings_are_read_from_runbook_toml() -> None:
    settings = config.load_environment("production")
    assert settings.region == "ap-northeast-2"
    assert settings.state_bucket == "aipx-terraform-state"
    assert settings.lock_table == "aipx-terraform-locks"
    assert settings.locking == "dynamodb"


def test_invalid_locking_mode_is_refused(tmp_path, monkeypatch) -> None:
    (tmp_path / "terraform").mkdir()
    env = tmp_path / "environments" / "dev"
    env.mkdir(parents=True)
    (env / "runbook.toml").write_text('[backend]\nlocking = "zookeeper"\n')
    monkeypatch.setenv("AIPX_PROJECT_ROOT", str(tmp_path))
    with pytest.raises(UsageError, match="unknown locking mode"):
        config.load_environment("dev")


def test_broken_toml_names_the_file(tmp_path, monkeypatch) -> None:
    (tmp_path / "terraform").mkdir()
    env = tmp_path / "environments" / "dev"
    env.mkdir(parents=True)
    (env / "runbook.toml").write_text("region = \n")
    monkeypatch.setenv("AIPX_PROJECT_ROOT", str(tmp_path))
    with pytest.raises(UsageError, match="runbook.toml is not valid TOML"):
        config.load_environment("dev")


def test_read_tfvars_unquotes_strings(tmp_path) -> None:
    path = tmp_path / "x.tfvars"
    path.write_text('name = "aipx"\ncount = 3\nflag = true\nzones = ["a", "b"]\ntags = { Team = "infra" }\n')
    assert config.read_tfvars(path) == {
        "name": "aipx",
        "count": 3,
        "flag": True,
        "zones": ["a", "b"],
        "tags": {"Team": "infra"},
    }
