"""A headless run: the stages chosen and their parameters checked, each stage notebook executed with papermill
into the run directory (``run_dirs``), its outcome read from the stage's typed record (``run_result``,
``stage_records``), then summary.json and index.html."""

from __future__ import annotations

import contextlib
import importlib
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import (
    config,
    emulator_sharing,
    interrupts,
    kernels,
    plan_store,
    recovery,
    registry,
    run_report,
    stage_records,
    timings,
)
from .context import DEFAULT_STACK_FOR_TARGET
from .errors import UsageError
from .render_queue import RenderQueue
from .run_dirs import existing_run_dir, new_run_dir
from .run_result import RunResult, StageOutcome, write_summary

if TYPE_CHECKING:
    from papermill.exceptions import PapermillExecutionError

COMMON_PARAMETERS = registry.COMMON_NAMES


Stage = registry.Stage
STAGES: tuple[Stage, ...] = registry.STAGES


def available_stages() -> list[Stage]:
    return [stage for stage in STAGES if stage.path.exists()]


def select_stages(names: Iterable[str] | None) -> list[Stage]:
    """Stages by number (03), name (plan) or notebook stem (03_plan); the default run when None."""
    stages = available_stages()
    if not names:
        return [stage for stage in stages if stage.in_default_run]
    chosen = []
    for name in names:
        match = [s for s in stages if name in (s.number, s.name, s.notebook.removesuffix(".ipynb"))]
        if not match:
            known = ", ".join(f"{s.number}/{s.name}" for s in stages)
            raise UsageError(f"unknown stage '{name}'; known: {known}")
        chosen.append(match[0])
    return sorted(set(chosen), key=lambda s: s.number)


def stage_parameters(stage: Stage) -> dict[str, dict[str, Any]]:
    """The stage's declared parameters (name → type, default, help), from the registry."""
    return {
        p.name: {"name": p.name, "inferred_type_name": p.type_name, "default": p.default, "help": p.help}
        for p in stage.parameters
    }


def validate_parameters(stages: list[Stage], parameters: dict[str, Any]) -> dict[Stage, dict[str, Any]]:
    declared = {stage: stage_parameters(stage) for stage in stages}
    known = set().union(*declared.values()) - set(COMMON_PARAMETERS)
    for name in parameters:
        if name in COMMON_PARAMETERS:
            raise UsageError(f"'{name}' is set by its own option, not -p", f"use --{name.replace('_', '-')}")
        if name not in known:
            raise UsageError(
                f"unknown parameter '{name}' for the selected stages; known: {', '.join(sorted(known)) or 'none'}"
            )
    per_stage = {stage: {k: v for k, v in parameters.items() if k in names} for stage, names in declared.items()}
    for stage, values in per_stage.items():
        registry.check(stage.name, values)
    return per_stage


def _failure(run_dir: Path, stage: Stage, error: PapermillExecutionError) -> tuple[str, str, str, str]:
    """(status, error, hint, details) from the stage's typed record; papermill's exception name and value when
    the stage failed before it could write one."""
    record = stage_records.read(run_dir, stage.name)
    if record is not None and record.status in ("failed", "interrupted") and record.why:
        return record.status, f"{record.kind or error.ename}: {record.why}", record.fix, record.details
    return "failed", f"{error.ename}: {error.evalue}", "read the failing cell in the executed notebook", ""


def _load_engine() -> None:
    """Import papermill and the engine while the emulator starts and the first kernel boots (the first stage's
    own import then finds them loaded); a failure here is raised again, in full, by that import. nbformat's
    schema validator is compiled meanwhile too (fastjsonschema: 0.1 s, once per process), which papermill's first
    read of a stage notebook would otherwise do once the kernel already waits."""
    with contextlib.suppress(Exception):
        importlib.import_module(f"{__package__}.notebook_engine")
        import nbformat

        nbformat.validate(nbformat.v4.new_notebook())


def render_html(notebook: Path) -> Path:
    return run_report.render_notebook(notebook)


def run(
    environment: str,
    target: str = "local",
    stack: str = "",
    stage_names: Iterable[str] | None = None,
    parameters: dict[str, Any] | None = None,
    keep_emulator: bool = False,
    on_stage: Callable[[StageOutcome], None] | None = None,
    on_start: Callable[[Stage], None] | None = None,
    region: str = "",
    run_dir: str | Path = "",
) -> RunResult:
    """Execute the selected stage notebooks in order; stop at the first failure.

    ``run_dir`` reuses an earlier run's directory (to apply the plan it saved); empty makes a new one.
    """
    config.validate_environment(environment)
    config.validate_target(target)
    stack = stack or DEFAULT_STACK_FOR_TARGET[target]
    config.resolve_stack(stack)
    stages = select_stages(stage_names)
    per_stage = validate_parameters(stages, parameters or {})
    run_dir = existing_run_dir(run_dir, environment) if run_dir else new_run_dir(environment)
    # The first stage's kernel boots while the emulator starts and papermill is imported (at the first stage).
    pool = kernels.KernelPool(config.project_root() / "notebooks", [stage.name for stage in stages])
    pool.start_first()
    threading.Thread(target=_load_engine, name="aipx-load-papermill", daemon=True).start()
    sharing = contextlib.ExitStack()
    if target == "local":
        try:
            sharing.enter_context(emulator_sharing.lease(keep=keep_emulator))
        except BaseException:
            pool.close()  # the emulator did not start: end the kernel that booted meanwhile
            raise
    result = RunResult(environment, target, stack, run_dir, [], notices=recovery.earlier_processes())
    for notice in result.notices:
        print(f"note: {notice}", flush=True)
    previous = os.environ.get("AIPX_HEADLESS")
    os.environ["AIPX_HEADLESS"] = "1"
    interruption = sharing.enter_context(interrupts.forwarded_to_terraform(run_dir))
    renders = RenderQueue(render_html, prepare=run_report.notebook_exporter)
    try:
        for stage in stages:
            if on_start:
                on_start(stage)
            try:
                outcome = _execute(
                    stage, run_dir, environment, target, stack, {"region": region, **per_stage[stage]}, pool, renders
                )
            except KeyboardInterrupt:
                outcome = _interrupted(stage, run_dir)
            if interruption.happened and outcome.status != "passed":
                outcome.status = "interrupted"
            result.stages.append(outcome)
            if on_stage:
                on_stage(outcome)
            if outcome.status != "passed":
                break
    finally:
        pool.stop()
        renders.wait()
        if previous is None:
            os.environ.pop("AIPX_HEADLESS", None)
        else:
            os.environ["AIPX_HEADLESS"] = previous
        sharing.close()
        plan_store.prune()
    write_summary(result)
    write_index(result)
    pool.close()
    return result


def _execute(
    stage: Stage,
    run_dir: Path,
    environment: str,
    target: str,
    stack: str,
    extra: dict[str, Any],
    pool: kernels.KernelPool | None = None,
    renders: RenderQueue | None = None,
) -> StageOutcome:
    output = run_dir / stage.notebook
    common = {"environment": environment, "target": target, "stack": stack, "run_dir": str(run_dir)}
    if extra.get("region"):
        common["region"] = extra["region"]
    extra = {name: value for name, value in extra.items() if name != "region"}
    declared = stage_parameters(stage)
    parameters = {**{name: value for name, value in common.items() if name in declared}, **extra}
    started = time.monotonic()
    kernel = pool.take() if pool else None
    if renders:
        renders.start()  # nbconvert loads on the render thread while this stage runs
    status, error, hint, details = "passed", "", "", ""
    import papermill  # here, not at the top: it loads on a thread while the first stage's kernel boots
    from papermill.exceptions import PapermillExecutionError

    from .notebook_engine import ENGINE

    try:
        papermill.execute_notebook(
            str(stage.path),
            str(output),
            parameters=parameters,
            progress_bar=False,
            log_output=False,
            cwd=str(stage.path.parent),
            extra_arguments=list(kernels.KERNEL_ARGUMENTS),
            km=kernel,
            engine_name=ENGINE,
            ready_client=pool.client(kernel) if pool else None,
            # one stdout output per cell however the streamed lines were batched: the same record every run
            coalesce_streams=True,
        )
    except PapermillExecutionError as failure:
        status, error, hint, details = _failure(run_dir, stage, failure)
    seconds = time.monotonic() - started
    if pool:
        pool.release(kernel)
    rendering = time.monotonic()
    if output.exists() and not renders:
        render_html(output)
    record = stage_records.read(run_dir, stage.name)
    spent = timings.stage_breakdown(
        run_dir / "stages" / f"{stage.name}.timings.json",
        seconds,
        kernel_start=pool.waited.get(id(kernel), 0.0) if pool else 0.0,
        rendering=time.monotonic() - rendering,
    )
    outcome = StageOutcome(
        stage.number,
        stage.name,
        stage.notebook,
        status,
        round(seconds, 2),
        record.facts if record else {},
        record.summary if record else "",
        error,
        hint,
        spent,
        details,
    )
    if output.exists() and renders:
        renders.submit(output, lambda took: spent["seconds"].update({"html (background)": round(took, 3)}))
    return outcome


def _interrupted(stage: Stage, run_dir: Path) -> StageOutcome:
    output = run_dir / stage.notebook
    if output.exists():
        render_html(output)
    return StageOutcome(
        stage.number,
        stage.name,
        stage.notebook,
        "interrupted",
        0.0,
        error="interrupted (Ctrl-C) while no Terraform command ran: the stage stopped where it was",
        hint=f"check the executed notebook {stage.notebook}, then rerun the run (or this stage)",
    )


def write_index(result: RunResult) -> Path:
    return run_report.write_index(result)
