"""What keeps stages fast, checked for correctness (never for time): lazy imports, files parsed once while
unchanged, and the per-stage timings the runner reads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from aipx_runbook import config, filecache, timings
from aipx_runbook.aws import AwsTarget

HEAVY = ("matplotlib", "boto3", "nbconvert", "papermill", "pandas")


def test_importing_the_stages_loads_no_heavy_module() -> None:
    code = f"import sys, aipx_runbook.stages; print([m for m in {HEAVY!r} if m in sys.modules])"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def test_drawing_the_charts_loads_no_plotting_library() -> None:
    code = (
        "import sys\n"
        "from aipx_runbook import charts\n"
        "charts.stacked_columns(['dev'], {'a': [1.0]}, ylabel='y', title='t', alt='a')\n"
        "charts.stacked_bars(['n'], {'create': [1]}, {'create': '#000000'}, xlabel='x', title='t', alt='a')\n"
        "print([name for name in ('matplotlib', 'PIL', 'numpy') if name in sys.modules])\n"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def test_the_cli_loads_papermill_only_once_a_stage_executes() -> None:
    """`aipx-runbook run` starts the first stage's kernel before papermill (and nbclient) load."""
    code = "import sys, aipx_runbook.cli; print('papermill' in sys.modules, 'nbclient' in sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.split() == ["False", "False"]


def test_the_cli_starts_without_the_plan_machinery_or_urllib() -> None:
    """What the CLI imports before it starts the first stage's kernel delays that kernel: the runner only prunes the
    plan store (plan_store.py), and reaches the emulator over HTTP once the kernel boots."""
    late = ("aipx_runbook.plans", "aipx_runbook.plan_record", "aipx_runbook.costing", "urllib.request")
    code = f"import sys, aipx_runbook.cli; print([m for m in {late!r} if m in sys.modules])"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def test_the_runner_compiles_the_notebook_validator_while_the_first_kernel_boots() -> None:
    """papermill's first read of a stage notebook finds nbformat's validator compiled (runbook._load_engine runs
    on a thread while the first kernel boots)."""
    code = (
        "import nbformat.validator as validator\n"
        "from aipx_runbook import runbook\n"
        "before = len(validator.validators)\n"
        "runbook._load_engine()\n"
        "print(before, len(validator.validators))\n"
    )
    counts = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert counts[0] == "0" and int(counts[1]) >= 1


def test_the_cli_process_skips_the_last_garbage_collection_at_exit() -> None:
    """At exit the CLI freezes what the run loaded: the interpreter's last collection does not walk it."""
    code = "import atexit, gc\nimport aipx_runbook.cli\natexit._run_exitfuncs()\nprint(gc.get_freeze_count())\n"
    frozen = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert int(frozen) > 0


def test_a_file_is_parsed_again_once_it_changes_and_callers_cannot_change_the_cache(tmp_path: Path) -> None:
    calls = []

    @filecache.by_content
    def parse(path: Path) -> dict:
        calls.append(path)
        return {"text": path.read_text(), "items": [1]}

    path = tmp_path / "a.txt"
    path.write_text("one")
    first = parse(path)
    first["items"].append(2)
    assert parse(path) == {"text": "one", "items": [1]} and len(calls) == 1
    path.write_text("two")  # same size, same second: the content decides
    assert parse(path)["text"] == "two" and len(calls) == 2
    with pytest.raises(FileNotFoundError):
        parse(tmp_path / "missing.txt")


def test_tfvars_edits_are_seen(tmp_path: Path) -> None:
    path = tmp_path / "aws.tfvars"
    path.write_text('environment = "dev"\n')
    assert config.read_tfvars(path) == {"environment": "dev"}
    path.write_text('environment = "stg"\n')
    assert config.read_tfvars(path) == {"environment": "stg"}


def test_nested_measures_count_each_second_once_and_are_written_beside_the_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = iter([10.0, 12.0, 17.0, 18.0])  # review starts, terraform starts, terraform ends, review ends
    monkeypatch.setattr(timings.time, "perf_counter", lambda: next(clock))
    timings.reset()
    sink = tmp_path / "stages" / "plan.timings.json"
    timings.record_to(sink)
    try:
        with timings.measure("review"), timings.measure("terraform"):
            pass
        written = json.loads(sink.read_text())
    finally:
        timings.record_to(None)
        timings.reset()
    assert written == {"pid": os.getpid(), "seconds": {"terraform": 5.0, "review": 3.0}}


def test_aws_calls_are_timed_through_botocore_events(emulator_target: AwsTarget) -> None:
    timings.reset()
    try:
        emulator_target.client("sts").get_caller_identity()
        after_one = timings.totals()["aws"]
        with pytest.raises(ClientError, match="404"):
            emulator_target.client("s3").head_bucket(Bucket="no-such-bucket-here")
        assert 0 < after_one < timings.totals()["aws"]
    finally:
        timings.reset()


def test_every_preload_names_a_stage_and_modules_that_import() -> None:
    import importlib

    from aipx_runbook import kernel_preload, runbook

    assert set(kernel_preload.PRELOADS) <= {stage.name for stage in runbook.STAGES}
    for modules in kernel_preload.PRELOADS.values():
        for module in modules:
            importlib.import_module(module)


def test_only_files_that_can_declare_variables_are_parsed_and_the_result_is_the_same(
    workspace: Path, tmp_path: Path
) -> None:
    from aipx_runbook import stack_files, versions

    (tmp_path / "a.tf").write_text('variable "quoted" {\n  type = string\n}\n')
    (tmp_path / "b.tf").write_text("variable unquoted {\n  default = 1\n}\n")
    (tmp_path / "c.tf").write_text('# no variable here, only a comment that names one\nlocals {\n  x = "y"\n}\n')
    (tmp_path / "d.tf").write_text('terraform {\n  required_version = ">= 1.5.0"\n}\n')
    assert stack_files.declared_variables(tmp_path) == {"quoted", "unquoted"}
    assert versions.required_version(tmp_path) == ">= 1.5.0"
