"""aipx-runbook's commands about what an environment costs and keeps running: cost, prices, budget, pause and
resume (cli.py registers them with ``add_commands``).

Their modules (the stages, costing, prices) are imported when a command runs, not when the parser is built:
`aipx-runbook run` starts its first kernel only once the CLI has loaded, and these took most of that time.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from importlib import import_module
from typing import Any

from . import cli_errors, config
from .cli_errors import EXIT_OK, print_report
from .errors import UsageError


def command_cost(args: argparse.Namespace) -> int:
    from .costing import estimates
    from .costing import report as cost_report

    names = config.known_environments() if args.env == "all" else [config.validate_environment(args.env)]
    if args.plan_json and args.env == "all":
        raise UsageError("--plan-json is the plan of one environment", "pass --env with that environment")
    plan = cli_errors.read_plan_json(args.plan_json) if args.plan_json else None
    priced = [estimates.estimate(names[0], plan)] if plan is not None else estimates.estimate_all(names)
    if args.format == "json":
        print(json.dumps(cost_report.to_json(priced), indent=2))
        return EXIT_OK
    return print_report(cost_report.report(priced, chart=False))


def command_prices(args: argparse.Namespace) -> int:
    from . import price_report, prices
    from .aws import AwsTarget

    if args.action == "show":
        return print_report(price_report.table_report(prices.load(args.region)))
    target = AwsTarget(config.validate_target(args.target), args.region, profile=args.profile or "")
    return print_report(price_report.refresh_report(prices.refresh(target)))


def command_stage(name: str, function: str) -> Callable[[argparse.Namespace], int]:
    """A subcommand that runs one library stage (budget, pause, resume: ``module:function`` in this package) on
    --env and --target."""

    def handler(args: argparse.Namespace) -> int:
        from .context import open_stage

        module, _, attribute = function.partition(":")
        stage = getattr(import_module(f"{__package__}.{module}"), attribute)
        return print_report(stage(open_stage(name, args.env, args.target, profile=args.profile or "")))

    return handler


def add_commands(commands: argparse._SubParsersAction[Any]) -> None:
    cost_parser = commands.add_parser("cost", help="monthly cost estimate per environment, with the seed's scenarios")
    cost_parser.add_argument("--env", required=True, help="all, or one of " + ", ".join(config.known_environments()))
    cost_parser.add_argument("--format", choices=("text", "json"), default="text")
    cost_parser.add_argument("--plan-json", help="`terraform show -json` of a saved plan: estimate its planned state")
    cost_parser.set_defaults(handler=command_cost)

    prices_parser = commands.add_parser("prices", help="show the dated price table, or refresh it from AWS")
    prices_parser.add_argument("action", choices=("show", "refresh"))
    prices_parser.add_argument("--region", default=config.DEFAULT_REGION)
    prices_parser.add_argument("--target", default="aws", help="refresh reads the AWS Price List API: target aws only")
    prices_parser.add_argument("--profile", help="AWS profile for target aws")
    prices_parser.set_defaults(handler=command_prices)

    for name, stage, text in (
        ("budget", "stages.budget:budget", "create or update the environment's AWS Budget and its e-mail alerts"),
        (
            "pause",
            "shutdown:pause",
            "scale the environment's ECS services to 0, recording their counts (not production)",
        ),
        ("resume", "shutdown:resume", "restore the ECS service counts pause recorded (not production)"),
    ):
        stage_parser = commands.add_parser(name, help=text)
        stage_parser.add_argument("--env", required=True, help="environment: " + ", ".join(config.known_environments()))
        stage_parser.add_argument("--target", default="local", help="local (emulator, default) or aws (a real account)")
        stage_parser.add_argument("--profile", help="AWS profile for target aws")
        stage_parser.set_defaults(handler=command_stage(name, stage))
