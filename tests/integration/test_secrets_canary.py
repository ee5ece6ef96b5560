"""A canary planted in the smoke stack's sensitive output ``database_endpoint`` (through the sensitive variable
``database_host``) must reach no file of a full headless run, no log line and no committed notebook.

Finding: the saved plan is a zip archive whose members hold every variable's value; the canary is not in its raw
bytes (the members are deflated) but is in the decompressed plan. So the plan never goes into the run directory:
it stays in the private plan store and is deleted once applied (see aipx_runbook.plans).
"""

from __future__ import annotations

import io
import secrets
import zipfile
from pathlib import Path

import pytest

from aipx_runbook import cli, config, plans, stages
from paths import PROJECT_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.notebooks]


def _readable_forms(path: Path) -> list[bytes]:
    """A file's bytes, and for a zip archive (a saved plan) each member decompressed too."""
    data = path.read_bytes()
    forms = [data]
    if zipfile.is_zipfile(io.BytesIO(data)):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            forms += [archive.read(member) for member in archive.namelist()]
    return forms


def _files_holding(folder: Path, canary: bytes) -> list[str]:
    return sorted(
        str(path.relative_to(folder))
        for path in folder.rglob("*")
        if path.is_file() and any(canary in form for form in _readable_forms(path))
    )


@pytest.fixture
def canary(monkeypatch) -> str:
    value = f"canary-{secrets.token_hex(8)}.db.invalid"
    monkeypatch.setenv("TF_VAR_database_host", value)
    return value


def test_a_saved_plan_holds_the_canary_so_it_stays_out_of_the_run_directory(
    stage_context, moto_server, reset_emulator, tmp_path, canary
) -> None:
    def at(stage: str):
        return stage_context(stage, stack="smoke", run_dir=tmp_path / "run")

    stages.backend_setup(at("backend"))
    stages.init(at("init"))
    stages.plan(at("plan"))
    plan_file = plans.plan_path(at("plan"), plans.PLAN)
    forms = _readable_forms(plan_file)
    assert canary.encode() not in forms[0], "deflated: a raw search of the plan file misses it"
    assert any(canary.encode() in form for form in forms[1:]), "decompressed, the plan holds the canary"
    assert _files_holding(tmp_path / "run", canary.encode()) == []


def test_a_full_headless_run_leaves_the_canary_nowhere(
    stage_context, moto_server, reset_emulator, canary, capsys
) -> None:
    code = cli.main(["run", "--env", "dev", "-p", "auto_approve=True", "-p", "confirm=dev"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    run_dir = Path(next(line for line in captured.out.splitlines() if line.startswith("report: "))[8:]).parent
    assert {p.name for p in run_dir.iterdir()} >= {"summary.json", "index.html", "04_apply.ipynb", "stages"}
    ctx = stage_context("verify", stack="smoke", run_dir=run_dir)
    s3, bucket, key = ctx.target.client("s3"), ctx.settings.state_bucket, ctx.settings.state_key
    versions = s3.list_object_versions(Bucket=bucket, Prefix=key)["Versions"]
    states = [s3.get_object(Bucket=bucket, Key=key, VersionId=v["VersionId"])["Body"].read() for v in versions]
    assert any(canary.encode() in state for state in states), "the canary really was the sensitive output"
    assert _files_holding(run_dir, canary.encode()) == []
    assert canary not in captured.out + captured.err
    assert _files_holding(config.state_dir() / "plans", canary.encode()) == [], "applied plans are deleted"
    committed = [p.name for p in (PROJECT_ROOT / "notebooks").glob("*.ipynb") if canary in p.read_text()]
    assert committed == []
