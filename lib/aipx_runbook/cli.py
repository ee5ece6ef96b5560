"""`aipx-runbook`: run the runbook headlessly, manage the local emulator, list the stages.

Exit codes: 0 success; 1 a stage or command failed; 2 bad usage (unknown name or parameter);
3 (drift only) the environment drifted from its code; 130 interrupted (Ctrl-C: Terraform was stopped
gracefully and the run's summary written).
"""

from __future__ import annotations

import argparse
import atexit
import gc
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from . import cli_account, cli_errors, config, emulator, progress, registry, runbook
from .cli_errors import EXIT_DRIFT, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, print_report
from .errors import RunbookError, UsageError
from .run_result import RunResult, StageOutcome

# The process ends with its command: the interpreter's last garbage collection would walk every object a run
# loaded (papermill, nbconvert, zmq: 0.1-0.15 s after the run's summary and index are written) to free memory
# the system frees anyway.
atexit.register(gc.freeze)


def _parameter(text: str) -> tuple[str, str]:
    """NAME=VALUE as text: the value is parsed by the parameter's declared type once the stages are known."""
    name, separator, value = text.partition("=")
    if not separator or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def _stage_names(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [name.strip() for name in text.split(",")]
    if not any(names):
        raise UsageError("--stages is empty", "name the stages, e.g. --stages 00,01,02 or plan,apply, or leave it out")
    return names


def _print_stage(outcome: StageOutcome) -> None:
    mark = {"passed": "PASS", "interrupted": "INT "}.get(outcome.status, "FAIL")
    print(f"{mark}  {outcome.number} {outcome.name:<14} {outcome.seconds:7.1f} s  {outcome.summary}", flush=True)


def command_run(args: argparse.Namespace) -> int:
    stage_names = _stage_names(args.stages)
    chosen = runbook.select_stages(stage_names)
    parameters = {name: registry.parse_cli(name, text, chosen) for name, text in args.parameter or []}
    ticker = progress.Ticker()

    def finished(outcome: StageOutcome) -> None:
        ticker.stop()
        _print_stage(outcome)

    try:
        result = runbook.run(
            args.env,
            target=args.target,
            stack=args.stack or "",
            stage_names=stage_names,
            parameters=parameters,
            keep_emulator=args.keep_emulator,
            on_stage=finished,
            on_start=lambda stage: ticker.start(f"{stage.number} {stage.name}"),
            region=args.region or "",
            run_dir=args.run_dir or "",
        )
    finally:
        ticker.stop()
    print(f"report: {result.run_dir / 'index.html'}")
    failed = result.failed
    if failed is not None:
        print(f"\nstage {failed.number} {failed.name} {failed.status}: {failed.error}", file=sys.stderr)
        if failed.details:
            print(f"\n{failed.details}\n", file=sys.stderr)
        print(f"what to do: {failed.hint}", file=sys.stderr)
        print(f"executed notebook: {result.run_dir / failed.notebook}", file=sys.stderr)
        return EXIT_INTERRUPTED if failed.status == "interrupted" else EXIT_FAILED
    return EXIT_OK


def command_emulator(args: argparse.Namespace) -> int:
    if args.action == "start":
        status = emulator.start()
        print(f"running at {status.endpoint} (pid {status.pid})")
    elif args.action == "stop":
        emulator.stop()
        print("stopped")
    else:
        status = emulator.status()
        print(f"running at {status.endpoint} (pid {status.pid})" if status.running else "not running")
    return EXIT_OK


def command_stages(args: argparse.Namespace) -> int:
    for stage in runbook.available_stages():
        default = "" if stage.in_default_run else "  (not in the default run)"
        print(f"{stage.number} {stage.name:<14} notebooks/{stage.notebook}{default}")
        for parameter in stage.parameters:
            default = repr(parameter.default)
            print(f"     {parameter.name:<26} {parameter.type_name:<6} default {default:<12} {parameter.help}")
    return EXIT_OK


def command_report(args: argparse.Namespace) -> int:
    from . import report_markdown

    sections = [report_markdown.load_section(Path(path)) for path in args.run_dir]
    if args.format == "json":
        print(json.dumps([report_markdown.section_data(s) for s in sections], indent=2))
        return EXIT_OK
    text = report_markdown.render(sections, comment=args.comment, limit=args.limit, artifact=args.artifact)
    if args.output:
        Path(args.output).write_text(text)
    else:
        print(text, end="")
    return EXIT_OK


def command_drift(args: argparse.Namespace) -> int:
    from . import drift

    result, outcome = drift.check(args.env, target=args.target, stack=args.stack or "", on_stage=_print_stage)
    if outcome is None:
        return _print_failure(result)
    print("\n".join(outcome.lines()))
    print(f"recorded: {result.run_dir / drift.DRIFT_FILE}")
    return EXIT_OK if outcome.agree else EXIT_DRIFT


def _print_failure(result: RunResult) -> int:
    failed = result.failed
    assert failed is not None
    print(f"\nstage {failed.number} {failed.name} failed: {failed.error}", file=sys.stderr)
    print(f"what to do: {failed.hint}", file=sys.stderr)
    print(f"executed notebook: {result.run_dir / failed.notebook}", file=sys.stderr)
    return EXIT_FAILED


def command_train(args: argparse.Namespace) -> int:
    """List the drills; set one up; or check it (exit 0 PASS, 1 not yet)."""
    from . import training

    if not args.drill:
        return print_report(training.overview())
    if args.check:
        result = training.check(args.drill, args.env or "")
        print(result)
        return EXIT_OK if result.passed else EXIT_FAILED
    drill = training.find(args.drill)
    print(training.set_up(drill.name, args.env or "dev"))
    print(f"\nopen {drill.notebook} (set_up = False keeps this scene), or fix it with the runbook's notebooks,")
    print(f"then: aipx-runbook train {drill.name} --check  (the emulator keeps running: aipx-runbook emulator stop)")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aipx-runbook", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser(
        "run",
        help="execute the stage notebooks headlessly with papermill",
        description="Execute the stage notebooks headlessly with papermill, stopping at the first failing stage.",
        epilog="exit codes: 0 every stage passed; 1 a stage failed (the stage, the error and what to do are "
        "printed); 2 bad usage (an unknown environment, stage, stack or parameter, or a value of the wrong type)",
    )
    run.add_argument("--env", required=True, help="environment: " + ", ".join(config.known_environments()))
    run.add_argument("--target", default="local", help="local (emulator, default) or aws (a real account)")
    run.add_argument("--stack", help="smoke, aipx or a path to a root module (default: smoke on local, aipx on aws)")
    run.add_argument("--stages", help="comma-separated stages, e.g. 00,01,02 or plan,apply (default: 00 to 06)")
    run.add_argument(
        "-p",
        "--parameter",
        action="append",
        type=_parameter,
        metavar="NAME=VALUE",
        help="a stage parameter, read as its declared type (a bool: exactly True, False, true or false; "
        "see `aipx-runbook stages`); repeatable",
    )
    run.add_argument("--region", help="AWS region (default: the environment's region in runbook.toml)")
    run.add_argument(
        "--run-dir",
        help="reuse an earlier run's directory, e.g. to apply the plan it saved: --stages apply --run-dir "
        "runs/dev/<UTC stamp> -p auto_approve=True (default: a new runs/<env>/<UTC stamp>)",
    )
    run.add_argument(
        "--keep-emulator",
        action="store_true",
        help="leave the emulator this run started running (its buckets and state survive)",
    )
    run.set_defaults(handler=command_run)

    emulator_parser = commands.add_parser("emulator", help="start, stop or show the local AWS emulator")
    emulator_parser.add_argument("action", choices=("start", "stop", "status"))
    emulator_parser.set_defaults(handler=command_emulator)

    stages = commands.add_parser("stages", help="list the stages, their notebooks and their parameters")
    stages.set_defaults(handler=command_stages)
    cli_account.add_commands(commands)  # cost, prices, budget, pause, resume

    report_parser = commands.add_parser(
        "report", help="the plan of one or more runs as Markdown (PR comment, job summary)"
    )
    report_parser.add_argument("--format", choices=("markdown", "json"), default="markdown")
    report_parser.add_argument(
        "--run-dir",
        action="append",
        required=True,
        help="a run directory, or runs/<env>/ for its newest run (repeatable)",
    )
    report_parser.add_argument(
        "--comment", action="store_true", help="one sticky PR comment: marker, title, size limit"
    )
    report_parser.add_argument("--limit", type=int, help="maximum characters (default: 65536 with --comment)")
    report_parser.add_argument("--artifact", default="runbook-plan-{environment}", help="artifact name to point to")
    report_parser.add_argument("--output", help="write to this file instead of standard output")
    report_parser.set_defaults(handler=command_report)
    drift_parser = commands.add_parser(
        "drift", help="stages 00-03 read-only: exit 3 when the environment drifted from its code, 0 when they agree"
    )
    drift_parser.add_argument("--env", required=True, help="environment: " + ", ".join(config.known_environments()))
    drift_parser.add_argument("--target", default="local", help="local (emulator, default) or aws (a real account)")
    drift_parser.add_argument("--stack", help="smoke, aipx or a path to a root module (default as for run)")
    drift_parser.set_defaults(handler=command_drift)
    train = commands.add_parser("train", help="training drills: list them, set one up, or check it")
    train.add_argument("drill", nargs="?", help="the drill to set up (or check with --check); none: list them")
    train.add_argument("--check", action="store_true", help="check the drill: exit 0 PASS, 1 not yet")
    train.add_argument("--env", help="environment (default dev; --check: the one it was set up for)")
    train.set_defaults(handler=command_train)
    # subcommands: add further commands above this line, each with set_defaults(handler=...)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except UsageError as error:
        print(f"aipx-runbook: {error.why}", file=sys.stderr)
        return EXIT_USAGE
    except RunbookError as error:
        print(error.describe(), file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("aipx-runbook: interrupted (Ctrl-C)", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:
        explained = cli_errors.explain(error, f"aipx-runbook {args.command}")
        if explained is None:
            raise
        print(explained.describe(), file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
