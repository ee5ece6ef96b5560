import urllib.request

import pytest

from aipx_runbook import emulator


@pytest.fixture
def isolated(tmp_path, monkeypatch, workspace):
    monkeypatch.setenv("AIPX_WORKSPACE", str(tmp_path))
    yield tmp_path
    emulator.stop()


def test_start_is_reused_until_stopped(isolated) -> None:
    first = emulator.start()
    assert first.running and first.started_by_this_call
    second = emulator.start()
    assert second.endpoint == first.endpoint and not second.started_by_this_call
    with urllib.request.urlopen(first.endpoint + "/moto-api/data.json") as response:
        assert response.status == 200
    emulator.stop()
    assert not emulator.status().running


def test_stale_state_file_is_not_mistaken_for_a_running_emulator(isolated) -> None:
    (isolated / ".aipx").mkdir(exist_ok=True)
    (isolated / ".aipx" / "emulator.json").write_text('{"pid": 999999, "endpoint": "http://127.0.0.1:9"}')
    assert not emulator.status().running
    assert emulator.start().started_by_this_call


def test_an_emulator_holding_rds_instances_is_still_running(isolated) -> None:
    from aipx_runbook.aws import AwsTarget

    started = emulator.start()
    rds = AwsTarget("local", "ap-northeast-2", started.endpoint).client("rds")
    rds.create_db_instance(
        DBInstanceIdentifier="probe",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        MasterUsername="probe",
        MasterUserPassword="probe-password-1",
        AllocatedStorage=20,
    )
    assert emulator.status().running
    assert emulator.start().endpoint == started.endpoint


def test_the_first_stages_services_load_before_any_stage_calls_them(isolated) -> None:
    """moto imports a service on its first request; the emulator makes those of stages 00-01 itself as it starts.
    moto's /moto-api/data.json lists the services whose models are imported."""
    import json
    import time

    started = emulator.start()
    wanted, loaded = {"sts", "s3", "dynamodb"}, set()
    deadline = time.monotonic() + 120  # a bound for a loaded machine, not a measure: the test checks no time
    while not wanted <= loaded and time.monotonic() < deadline:
        time.sleep(0.5)
        with urllib.request.urlopen(started.endpoint + "/moto-api/data.json") as response:
            loaded = set(json.loads(response.read()))
    assert wanted <= loaded, f"never loaded: {sorted(wanted - loaded)}"
    assert "rds" not in loaded, "only what the first stages call"
    assert "ec2" not in loaded, "EC2 (a second of CPU) only when a plan calls it: stages 00-01 on local do not"
