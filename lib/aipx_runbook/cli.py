"""`aipx-runbook`: run the runbook headlessly, manage the local emulator, list the stages.

Exit codes: 0 success; 1 a stage or command failed; 2 bad usage (unknown name or parameter).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from papermill.cli import _resolve_type as papermill_value

from . import config, emulator, runbook
from .errors import RunbookError, UsageError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _parameter(text: str) -> tuple[str, Any]:
    name, separator, value = text.partition("=")
    if not separator or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, papermill_value(value)


def _print_stage(outcome: runbook.StageOutcome) -> None:
    mark = "PASS" if outcome.status == "passed" else "FAIL"
    print(f"{mark}  {outcome.number} {outcome.name:<14} {outcome.seconds:7.1f} s  {outcome.summary}", flush=True)


def command_run(args: argparse.Namespace) -> int:
    result = runbook.run(
        args.env,
        target=args.target,
        stack=args.stack or "",
        stage_names=args.stages.split(",") if args.stages else None,
        parameters=dict(args.parameter or []),
        keep_emulator=args.keep_emulator,
        on_stage=_print_stage,
    )
    print(f"report: {result.run_dir / 'index.html'}")
    failed = result.failed
    if failed is not None:
        print(f"\nstage {failed.number} {failed.name} failed: {failed.error}", file=sys.stderr)
        print(f"what to do: {failed.hint}", file=sys.stderr)
        print(f"executed notebook: {result.run_dir / failed.notebook}", file=sys.stderr)
        return EXIT_FAILED
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
        for name, spec in runbook.stage_parameters(stage).items():
            print(f"     {name:<26} {spec['inferred_type_name']:<6} default {spec['default']:<12} {spec['help']}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aipx-runbook", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="execute the stage notebooks headlessly with papermill")
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
        help="a notebook parameter, parsed as papermill's -p parses it (repeatable)",
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


if __name__ == "__main__":
    sys.exit(main())
