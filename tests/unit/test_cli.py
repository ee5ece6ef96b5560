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
    ("argv", "value"),
    [
        (["-p", "auto_approve=True"], True),
        (["-p", "auto_approve=false"], False),
        (["-p", "confirm=123"], "123"),
        (["-p", "confirm=None"], "None"),
    ],
)
def test_parameters_are_read_as_their_declared_type(workspace, monkeypatch, argv, value) -> None:
    seen = {}

    def stop_before_running(*args, **options):
        seen.update(options["parameters"])
        raise _Stop

    monkeypatch.setattr(cli.runbook, "run", stop_before_running)
    with pytest.raises(_Stop):
        cli.main(["run", "--env", "dev", *argv])
    name = argv[1].split("=")[0]
    assert seen[name] == value and type(seen[name]) is type(value)


class _Stop(Exception):
    """Raised instead of running the stages: this test only looks at how the values were read."""


@pytest.mark.parametrize("text", ["no", "off", "", "0", "yes"])
@pytest.mark.parametrize(
    ("stages", "name"),
    [
        ("apply", "auto_approve"),
        ("destroy", "allow_production_destroy"),
        ("backend", "fix_drift"),
        ("verify", "reveal_sensitive"),
    ],
)
def test_a_bool_parameter_that_is_not_true_or_false_exits_2_before_any_stage(
    workspace, tmp_path, monkeypatch, capsys, stages, name, text
) -> None:
    monkeypatch.setenv("AIPX_WORKSPACE", str(tmp_path))
    assert cli.main(["run", "--env", "production", "--stages", stages, "-p", f"{name}={text}"]) == 2
    err = capsys.readouterr().err
    assert f"parameter {name} is {text!r}; it accepts exactly True, False, true or false" in err
    assert not (tmp_path / "runs").exists(), "no stage ran"


def test_empty_stages_is_a_usage_error(workspace, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("AIPX_WORKSPACE", str(tmp_path))
    assert cli.main(["run", "--env", "dev", "--stages", ""]) == 2
    assert "--stages is empty" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_a_missing_run_dir_is_a_usage_error(workspace, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("AIPX_WORKSPACE", str(tmp_path))
    assert cli.main(["run", "--env", "dev", "--stages", "apply", "--run-dir", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_run_help_lists_the_exit_codes_and_the_new_options(capsys) -> None:
    with pytest.raises(SystemExit):
        cli.main(["run", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "exit codes: 0 every stage passed; 1 a stage failed" in out and "2 bad usage" in out
    assert "--region" in out and "--run-dir" in out


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
