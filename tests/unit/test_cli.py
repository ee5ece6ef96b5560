import pytest

from aipx_runbook import cli


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--env", "prod"], "unknown environment 'prod'; known: dev, production, staging"),
        (["run", "--env", "dev", "--target", "cloud"], "unknown target 'cloud'; known: aws, local"),
        (["run", "--env", "dev", "--stack", "nope"], "unknown stack 'nope'; known: aipx, smoke"),
        (["run", "--env", "dev", "--stages", "00,deploy"], "unknown stage 'deploy'; known: 00/prerequisites"),
        (["run", "--env", "dev", "-p", "colour=blue"], "unknown parameter 'colour' for the selected stages; known:"),
        (["run", "--env", "dev", "--stages", "00", "-p", "auto_approve=True"], "unknown parameter 'auto_approve'"),
        (["run", "--env", "dev", "-p", "environment=staging"], "'environment' is set by its own option"),
    ],
)
def test_bad_usage_exits_2_and_lists_the_valid_names(workspace, argv, message, capsys) -> None:
    assert cli.main(argv) == 2
    assert message in capsys.readouterr().err


def test_malformed_parameter_is_a_usage_error(capsys) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(["run", "--env", "dev", "-p", "auto_approve"])
    assert caught.value.code == 2
    assert "expected NAME=VALUE" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "value"),
    [("auto_approve=True", True), ("n=3", 3), ("x=1.5", 1.5), ("confirm=dev", "dev"), ("v=None", None)],
)
def test_parameters_are_parsed_as_papermill_parses_them(text, value) -> None:
    assert cli._parameter(text) == (text.split("=")[0], value)


def test_stages_lists_notebooks_and_parameters(capsys) -> None:
    assert cli.main(["stages"]) == 0
    out = capsys.readouterr().out
    for line in ("00 prerequisites", "03 plan", "notebooks/04_apply.ipynb", "06 destroy"):
        assert line in out
    assert "auto_approve" in out and "confirm" in out and "fix_drift" in out


def test_emulator_start_status_stop(workspace, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("AIPX_WORKSPACE", str(tmp_path))
    assert cli.main(["emulator", "start"]) == 0
    started = capsys.readouterr().out
    assert started.startswith("running at http://127.0.0.1:")
    assert cli.main(["emulator", "status"]) == 0
    assert capsys.readouterr().out.split(" (pid")[0] == started.split(" (pid")[0]
    assert cli.main(["emulator", "stop"]) == 0
    assert cli.main(["emulator", "status"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "not running"
