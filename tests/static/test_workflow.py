"""The CI workflow runs the runbook as users run it: every environment is planned, and every command it calls
exists (the aipx-runbook subcommand and options, the stage names, the notebook parameters)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from aipx_runbook import cli, config, registry, runbook, versions
from paths import PROJECT_ROOT

pytestmark = pytest.mark.static
WORKFLOW = PROJECT_ROOT / ".github" / "workflows" / "runbook.yml"
EXPRESSION = re.compile(r"\$\{\{\s*([\w.]+)\s*\}\}")
VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)\}")


@pytest.fixture(scope="module")
def workflow() -> dict:
    document = yaml.safe_load(WORKFLOW.read_text())
    document["on"] = document.pop(True)  # YAML 1.1 reads the key `on` as a boolean
    return document


def _environment_directories() -> list[str]:
    return sorted(p.name for p in (PROJECT_ROOT / "environments").iterdir() if p.is_dir())


def _resolve(text: str, context: dict[str, str]) -> str:
    """GitHub expressions, then shell variables, as the runner would expand them for one environment."""
    text = EXPRESSION.sub(lambda m: context[m.group(1)], text)
    return VARIABLE.sub(lambda m: context[m.group(1) or m.group(2)], text)


def _contexts(workflow: dict, job_name: str) -> list[dict[str, str]]:
    """One expansion context per environment the job can run for."""
    job = workflow["jobs"][job_name]
    if "matrix" in job.get("strategy", {}):
        environments = job["strategy"]["matrix"]["environment"]
    else:
        environments = workflow["on"]["workflow_dispatch"]["inputs"]["environment"]["options"]
    contexts = []
    for environment in environments:
        context = {
            "matrix.environment": environment,
            "inputs.environment": environment,
            "inputs.confirm": environment,
            "runner.temp": "/tmp/runner",
            "github.workspace": "/home/runner/work/aipx/aipx",
            "GITHUB_STEP_SUMMARY": "/tmp/runner/summary.md",
            "vars.AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/aipx",
            **{f"env.{k}": str(v) for k, v in workflow["env"].items()},
        }
        context.update({name: _resolve(str(value), context) for name, value in job.get("env", {}).items()})
        contexts.append(context)
    return contexts


def _runbook_commands(workflow: dict, job_name: str) -> list[tuple[list[str], dict[str, str]]]:
    commands = []
    for context in _contexts(workflow, job_name):
        for step in workflow["jobs"][job_name]["steps"]:
            if "aipx-runbook" in step.get("run", ""):
                command, _, redirect = step["run"].partition(">>")
                argv = shlex.split(_resolve(command, context))
                if redirect:
                    assert shlex.split(redirect) == ["$GITHUB_STEP_SUMMARY"], "only the job summary is appended to"
                commands.append((argv[argv.index("aipx-runbook") + 1 :], context))
    return commands


def _run_commands(workflow: dict, job_name: str) -> list[tuple[list[str], dict[str, str]]]:
    return [(argv, context) for argv, context in _runbook_commands(workflow, job_name) if argv[0] == "run"]


def test_pull_requests_plan_every_environment_directory(workflow) -> None:
    plan = workflow["jobs"]["plan"]
    assert plan["if"] == "github.event_name == 'pull_request'" and "pull_request" in workflow["on"]
    assert sorted(plan["strategy"]["matrix"]["environment"]) == _environment_directories()
    assert _environment_directories() == config.known_environments()


def test_apply_runs_only_on_manual_dispatch_for_one_chosen_environment(workflow) -> None:
    apply = workflow["jobs"]["apply"]
    assert apply["if"] == "github.event_name == 'workflow_dispatch'" and "strategy" not in apply
    choice = workflow["on"]["workflow_dispatch"]["inputs"]["environment"]
    assert choice["type"] == "choice" and sorted(choice["options"]) == _environment_directories()
    assert apply["environment"] == "${{ inputs.environment }}"
    for argv, _ in _run_commands(workflow, "apply"):
        assert "auto_approve=True" in argv
    for argv, _ in _run_commands(workflow, "plan"):
        assert not any(a.startswith(("auto_approve", "confirm")) for a in argv), "a pull request never applies"


@pytest.mark.parametrize("job_name", ["plan", "apply", "drift"])
def test_every_runbook_command_exists_with_its_options_stages_and_parameters(workflow, job_name) -> None:
    commands = _runbook_commands(workflow, job_name)
    assert commands, f"the {job_name} job calls aipx-runbook"
    for argv, context in commands:
        args = cli.build_parser().parse_args(argv)
        environment = context.get("matrix.environment", context["inputs.environment"])
        if args.command == "report":
            assert args.format == "markdown" and not args.comment, "a job summary has no comment marker"
            assert args.run_dir == [str(Path(context["AIPX_WORKSPACE"]) / "runs" / environment)]
            continue
        if args.command == "drift":
            assert (args.env, args.target, args.stack) == (environment, "aws", "aipx")
            continue
        assert args.command == "run" and args.target == "aws" and args.stack == "aipx"
        assert args.env == context.get("matrix.environment", context["inputs.environment"])
        config.validate_environment(args.env)
        config.resolve_stack(args.stack)
        stages = runbook.select_stages(args.stages.split(","))
        assert [s.number for s in stages][:4] == ["00", "01", "02", "03"]
        parameters = {name: registry.parse_cli(name, text, stages) for name, text in args.parameter or []}
        runbook.validate_parameters(stages, parameters)


def test_production_apply_carries_the_confirm_the_apply_stage_requires(workflow) -> None:
    for argv, context in _run_commands(workflow, "apply"):
        parameters = dict(cli.build_parser().parse_args(argv).parameter or [])
        assert parameters["confirm"] == context["inputs.environment"]


def test_apply_applies_only_the_plan_reviewed_on_the_merged_pull_request(workflow) -> None:
    job = workflow["jobs"]["apply"]
    fetch = next(step for step in job["steps"] if "gh run download" in step.get("run", ""))
    assert '--name "runbook-plan-$AIPX_ENVIRONMENT"' in fetch["run"], "the artifact the plan job uploads"
    assert "exit 1" in fetch["run"], "no reviewed plan, no apply"
    for argv, context in _run_commands(workflow, "apply"):
        parameters = dict(cli.build_parser().parse_args(argv).parameter or [])
        assert parameters["expected_plan"] == context["AIPX_REVIEWED_PLAN"]
        assert parameters["expected_plan"].endswith("/tfplan.record.json")


def test_one_sticky_comment_gathers_every_environments_plan(workflow) -> None:
    from aipx_runbook import report_markdown

    job = workflow["jobs"]["comment"]
    assert job["needs"] == "plan" and job["if"] == "always() && github.event_name == 'pull_request'"
    assert job["permissions"] == {"contents": "read", "pull-requests": "write"}, "no AWS access, no id-token"
    script = "\n".join(step.get("run", "") for step in job["steps"])
    assert "aipx-runbook report --format markdown --comment" in script
    for environment in workflow["jobs"]["plan"]["strategy"]["matrix"]["environment"]:
        assert environment in script.split("for environment in ", 1)[1].split(";", 1)[0]
    assert f"marker='{report_markdown.MARKER}'" in script
    assert "--method PATCH" in script and "--method POST" in script


def test_drift_runs_on_a_schedule_for_every_environment(workflow) -> None:
    drift = workflow["jobs"]["drift"]
    assert drift["if"] == "github.event_name == 'schedule'" and workflow["on"]["schedule"]
    assert sorted(drift["strategy"]["matrix"]["environment"]) == _environment_directories()


def test_credentials_come_from_oidc_and_the_toolchain_matches_the_stack(workflow) -> None:
    assert workflow["permissions"]["id-token"] == "write"
    required = versions.required_version(PROJECT_ROOT / "terraform" / "aws")
    for name, job in workflow["jobs"].items():
        steps = {step.get("uses", "").split("@")[0]: step for step in job["steps"]}
        if name == "comment":
            assert "aws-actions/configure-aws-credentials" not in steps, "the comment job needs no AWS access"
            continue
        credentials = steps["aws-actions/configure-aws-credentials"]["with"]
        assert "role-to-assume" in credentials and not {"aws-access-key-id", "aws-secret-access-key"} & set(credentials)
        terraform = steps["hashicorp/setup-terraform"]["with"]
        assert terraform["terraform_wrapper"] is False
        version = versions.parse_version(_resolve(terraform["terraform_version"], _contexts(workflow, "plan")[0]))
        assert versions.satisfies(version, required)
        assert "actions/setup-python" in steps
        assert any(step.get("run", "").strip() == "pip install -e ." for step in job["steps"])
        assert all(re.fullmatch(r"[\w-]+/[\w-]+@v\d+", step["uses"]) for step in job["steps"] if "uses" in step)


@pytest.mark.parametrize("job_name", ["plan", "apply", "drift"])
def test_the_uploaded_artifact_is_the_run_directory(workflow, job_name) -> None:
    """runbook.run writes runs/<env>/<stamp>/ under AIPX_WORKSPACE; the artifact is that folder's parent."""
    job = workflow["jobs"][job_name]
    upload = next(step for step in job["steps"] if step.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["if"] == "always()", "a failed run's notebooks are what people need to read"
    for context in _contexts(workflow, job_name):
        path = Path(_resolve(upload["with"]["path"], context))
        environment = context.get("matrix.environment", context["inputs.environment"])
        assert path == Path(context["AIPX_WORKSPACE"]) / "runs" / environment
