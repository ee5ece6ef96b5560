"""Target local signs with dummy keys, or with an emulator user's keys given explicitly; never with the shell's."""

from __future__ import annotations

import pytest

from aipx_runbook.aws import AwsTarget
from aipx_runbook.errors import UsageError
from aipx_runbook.local_credentials import ACCESS_KEY_VARIABLE, SECRET_KEY_VARIABLE, shell_assignments

LOCAL = AwsTarget("local", "ap-northeast-2", "http://127.0.0.1:1")


@pytest.fixture(autouse=True)
def stray_shell_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIASTRAYSHELLKEY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "stray-shell-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "stray-token")
    monkeypatch.delenv(ACCESS_KEY_VARIABLE, raising=False)
    monkeypatch.delenv(SECRET_KEY_VARIABLE, raising=False)


def _signing_keys(target: AwsTarget) -> tuple[str, str, str | None]:
    credentials = target.session().get_credentials().get_frozen_credentials()
    return credentials.access_key, credentials.secret_key, credentials.token


def test_without_the_opt_in_target_local_uses_dummy_keys() -> None:
    assert _signing_keys(LOCAL) == ("testing", "testing", None)
    env = LOCAL.terraform_env()
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == ("testing", "testing")
    assert "AWS_SESSION_TOKEN" not in env


def test_the_opt_in_gives_the_emulator_users_keys_and_still_drops_the_shells(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ACCESS_KEY_VARIABLE, "AKIAEMULATORUSER")
    monkeypatch.setenv(SECRET_KEY_VARIABLE, "emulator-secret")
    assert _signing_keys(LOCAL) == ("AKIAEMULATORUSER", "emulator-secret", None)
    env = LOCAL.terraform_env()
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == ("AKIAEMULATORUSER", "emulator-secret")
    assert "AWS_SESSION_TOKEN" not in env and "stray" not in repr(env.get("AWS_SECRET_ACCESS_KEY"))


def test_the_opt_in_never_reaches_target_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ACCESS_KEY_VARIABLE, "AKIAEMULATORUSER")
    monkeypatch.setenv(SECRET_KEY_VARIABLE, "emulator-secret")
    env = AwsTarget("aws", "ap-northeast-2").terraform_env()
    assert env["AWS_ACCESS_KEY_ID"] == "AKIASTRAYSHELLKEY", "target aws keeps the standard credential chain"


@pytest.mark.parametrize("given", [ACCESS_KEY_VARIABLE, SECRET_KEY_VARIABLE])
def test_half_an_opt_in_is_refused_with_what_to_do(monkeypatch: pytest.MonkeyPatch, given: str) -> None:
    monkeypatch.setenv(given, "only-one")
    with pytest.raises(UsageError) as raised:
        LOCAL.session()
    assert given in raised.value.why and "set both" in raised.value.fix


def test_printed_shell_commands_name_the_opted_in_keys_variables_never_their_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert shell_assignments() == "AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing"
    monkeypatch.setenv(ACCESS_KEY_VARIABLE, "AKIAEMULATORUSER")
    monkeypatch.setenv(SECRET_KEY_VARIABLE, "emulator-secret")
    printed = shell_assignments()
    assert printed == f'AWS_ACCESS_KEY_ID="${ACCESS_KEY_VARIABLE}" AWS_SECRET_ACCESS_KEY="${SECRET_KEY_VARIABLE}"'
    assert "AKIAEMULATORUSER" not in printed and "emulator-secret" not in printed
    monkeypatch.delenv(SECRET_KEY_VARIABLE)
    with pytest.raises(UsageError, match=SECRET_KEY_VARIABLE):
        shell_assignments()
