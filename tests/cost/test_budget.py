"""The environment's AWS Budget against a real moto server, and the update steps moto lacks against a stub."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import boto3
import papermill
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from aipx_runbook import budget, cli, config
from aipx_runbook.aws import LOCAL_ACCOUNT_ID, AwsTarget
from aipx_runbook.config import BudgetSettings, EnvironmentSettings
from aipx_runbook.errors import UsageError
from aipx_runbook.results import Report
from aipx_runbook.stages.budget import ensure_budget
from paths import PROJECT_ROOT

NAME = "AIPX Monthly Budget (dev)"


def settings(limit: float = 500, emails: tuple[str, ...] = ("ops@example.com",), thresholds=(80.0, 100.0)):
    return dataclasses.replace(config.load_environment("dev"), budget=BudgetSettings(limit, emails, tuple(thresholds)))


def budgets_client(target: AwsTarget) -> Any:
    return target.client("budgets", region="us-east-1")


def thresholds(target: AwsTarget) -> list[float]:
    found = budgets_client(target).describe_notifications_for_budget(AccountId=LOCAL_ACCOUNT_ID, BudgetName=NAME)
    return sorted(n["Threshold"] for n in found["Notifications"])


pytestmark = pytest.mark.usefixtures("workspace")


@pytest.mark.integration
@pytest.mark.usefixtures("reset_emulator")
def test_budget_is_created_then_left_alone(emulator_target: AwsTarget) -> None:
    created = ensure_budget(emulator_target, settings())
    assert created.status == "changed"
    described = budgets_client(emulator_target).describe_budget(AccountId=LOCAL_ACCOUNT_ID, BudgetName=NAME)["Budget"]
    assert (described["BudgetLimit"], described["TimeUnit"], described["BudgetType"]) == (
        {"Amount": "500", "Unit": "USD"},
        "MONTHLY",
        "COST",
    )
    assert thresholds(emulator_target) == [80.0, 100.0]

    again = ensure_budget(emulator_target, settings())
    assert again.status == "ok"
    assert {row[3] for row in again.tables[0].rows} == {"kept", "kept (subscribers not checked)"}
    assert thresholds(emulator_target) == [80.0, 100.0]
    assert any("cannot list an alert's subscribers" in note for note in again.notes)


@pytest.mark.integration
@pytest.mark.usefixtures("reset_emulator")
def test_alerts_follow_the_configured_thresholds(emulator_target: AwsTarget) -> None:
    ensure_budget(emulator_target, settings())
    moved = ensure_budget(emulator_target, settings(thresholds=(50, 100)))
    assert moved.status == "changed"
    assert thresholds(emulator_target) == [50.0, 100.0]
    actions = {row[0]: row[3] for row in moved.tables[0].rows}
    assert actions["alert: actual spend > 80%"] == "removed (not in runbook.toml)"
    assert actions["alert: actual spend > 50%"] == "created"


@pytest.mark.integration
@pytest.mark.usefixtures("reset_emulator")
def test_without_addresses_the_budget_exists_but_warns_and_alerts_are_removed(emulator_target: AwsTarget) -> None:
    ensure_budget(emulator_target, settings())
    silent = ensure_budget(emulator_target, settings(emails=()))
    assert silent.status == "warn"
    assert thresholds(emulator_target) == []
    assert any("alerts nobody" in note for note in silent.notes)


@pytest.mark.integration
@pytest.mark.usefixtures("reset_emulator")
def test_a_new_limit_on_the_emulator_is_reported_not_pretended(emulator_target: AwsTarget) -> None:
    ensure_budget(emulator_target, settings())
    shown = ensure_budget(emulator_target, settings(limit=750))
    assert shown.status == "warn"
    assert shown.tables[0].rows[0] == [
        "budget",
        "750 USD monthly COST",
        "warn",
        "not updated (was 500 USD monthly COST)",
    ]
    assert any("does not implement UpdateBudget" in note for note in shown.notes)
    described = budgets_client(emulator_target).describe_budget(AccountId=LOCAL_ACCOUNT_ID, BudgetName=NAME)["Budget"]
    assert described["BudgetLimit"]["Amount"] == "500"


@pytest.mark.integration
@pytest.mark.parametrize("operation", sorted(budget.EMULATOR_LACKS))
def test_the_emulator_still_lacks_what_the_budget_stage_skips_there(moto_server: str, operation: str) -> None:
    """When moto learns one of these, this fails: drop it from EMULATOR_LACKS so the emulator runs it too."""
    client = boto3.client(
        "budgets",
        endpoint_url=moto_server,
        region_name="us-east-1",
        aws_access_key_id="t",
        aws_secret_access_key="t",
        config=Config(retries={"max_attempts": 1}),
    )
    notification = budget.alert(80)
    subscriber = {"SubscriptionType": "EMAIL", "Address": "ops@example.com"}
    calls = {
        "UpdateBudget": lambda: client.update_budget(
            AccountId=LOCAL_ACCOUNT_ID, NewBudget=budget.desired_budget(settings())
        ),
        "DescribeSubscribersForNotification": lambda: client.describe_subscribers_for_notification(
            AccountId=LOCAL_ACCOUNT_ID, BudgetName=NAME, Notification=notification
        ),
        "CreateSubscriber": lambda: client.create_subscriber(
            AccountId=LOCAL_ACCOUNT_ID, BudgetName=NAME, Notification=notification, Subscriber=subscriber
        ),
        "DeleteSubscriber": lambda: client.delete_subscriber(
            AccountId=LOCAL_ACCOUNT_ID, BudgetName=NAME, Notification=notification, Subscriber=subscriber
        ),
    }
    with pytest.raises(ClientError) as raised:
        calls[operation]()
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> tuple[Stubber, Stubber]:
    """Target aws answered by botocore Stubbers (STS, Budgets) instead of an account: add responses, then
    ``_ensure_on_aws``."""
    session = {"region_name": "us-east-1", "aws_access_key_id": "x", "aws_secret_access_key": "x"}
    sts, budgets = boto3.client("sts", **session), boto3.client("budgets", **session)
    monkeypatch.setattr(
        AwsTarget, "client", lambda self, service, region=None: {"sts": sts, "budgets": budgets}[service]
    )
    return Stubber(sts), Stubber(budgets)


def _ensure_on_aws(sts_stub: Stubber, stub: Stubber, wanted: EnvironmentSettings) -> Report:
    """``ensure_budget`` on target aws against the stubbed answers, every one of which it must have asked for."""
    sts_stub.activate()
    stub.activate()
    shown = ensure_budget(AwsTarget("aws", "ap-northeast-2"), wanted)
    stub.assert_no_pending_responses()
    return shown


def test_on_aws_the_limit_and_the_subscribers_are_updated_in_place(stubbed: tuple[Stubber, Stubber]) -> None:
    sts_stub, stub = stubbed
    sts_stub.add_response(
        "get_caller_identity",
        {"Account": "111122223333", "Arn": "arn:aws:iam::111122223333:user/ops", "UserId": "AIDAEXAMPLE"},
    )
    wanted: EnvironmentSettings = settings(limit=750, emails=("ops@example.com", "new@example.com"), thresholds=(80,))
    stub.add_response("describe_budget", {"Budget": {**budget.desired_budget(settings()), "BudgetName": NAME}})
    new_budget = budget.desired_budget(wanted)
    stub.add_response("update_budget", {}, {"AccountId": "111122223333", "NewBudget": new_budget})
    notification = budget.alert(80)
    stub.add_response("describe_notifications_for_budget", {"Notifications": [notification]})
    stub.add_response(
        "describe_subscribers_for_notification",
        {
            "Subscribers": [
                {"SubscriptionType": "EMAIL", "Address": "ops@example.com"},
                {"SubscriptionType": "EMAIL", "Address": "old@example.com"},
            ]
        },
    )
    target = {"AccountId": "111122223333", "BudgetName": NAME, "Notification": notification}
    stub.add_response(
        "create_subscriber", {}, {**target, "Subscriber": {"SubscriptionType": "EMAIL", "Address": "new@example.com"}}
    )
    stub.add_response(
        "delete_subscriber", {}, {**target, "Subscriber": {"SubscriptionType": "EMAIL", "Address": "old@example.com"}}
    )
    shown = _ensure_on_aws(sts_stub, stub, wanted)
    assert shown.status == "changed"
    assert [row[3] for row in shown.tables[0].rows] == ["updated (was 500 USD monthly COST)", "subscribers +1 −1"]


def test_on_aws_every_page_of_alerts_and_subscribers_is_read(stubbed: tuple[Stubber, Stubber]) -> None:
    """Budgets answers in pages (NextToken): an alert or an address on a later page is kept, not made again."""
    sts_stub, stub = stubbed
    account = "111122223333"
    sts_stub.add_response("get_caller_identity", {"Account": account, "Arn": f"arn:aws:iam::{account}:user/ops"})
    wanted = settings(emails=("ops@example.com", "new@example.com"), thresholds=(80, 100))
    stub.add_response("describe_budget", {"Budget": budget.desired_budget(wanted)})
    first, second = budget.alert(80), budget.alert(100)
    listed = {"AccountId": account, "BudgetName": NAME}
    stub.add_response("describe_notifications_for_budget", {"Notifications": [first], "NextToken": "n1"}, listed)
    stub.add_response("describe_notifications_for_budget", {"Notifications": [second]}, {**listed, "NextToken": "n1"})
    ops, new = ({"SubscriptionType": "EMAIL", "Address": a} for a in ("ops@example.com", "new@example.com"))
    for notification in (first, second):
        asked = {**listed, "Notification": notification}
        stub.add_response("describe_subscribers_for_notification", {"Subscribers": [ops], "NextToken": "s1"}, asked)
        stub.add_response("describe_subscribers_for_notification", {"Subscribers": [new]}, {**asked, "NextToken": "s1"})
    shown = _ensure_on_aws(sts_stub, stub, wanted)
    assert shown.status == "ok"
    assert [row[3] for row in shown.tables[0].rows] == ["kept", "kept", "kept"]


def test_addresses_that_are_not_e_mail_addresses_are_refused() -> None:
    with pytest.raises(UsageError) as raised:
        ensure_budget(AwsTarget("aws", "ap-northeast-2"), settings(emails=("ops@example.com", "ops team")))
    assert "ops team" in raised.value.why


@pytest.mark.integration
@pytest.mark.usefixtures("reset_emulator")
def test_cli_ensures_the_budget_of_an_environment(
    emulator_target: AwsTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    limit = config.load_environment("production").budget.monthly_limit_usd
    assert cli.main(["budget", "--env", "production"]) == 0
    assert "AWS Budget, production" in capsys.readouterr().out
    described = budgets_client(emulator_target).describe_budget(
        AccountId=LOCAL_ACCOUNT_ID, BudgetName="AIPX Monthly Budget (production)"
    )["Budget"]
    assert float(described["BudgetLimit"]["Amount"]) == limit


@pytest.mark.notebooks
@pytest.mark.usefixtures("reset_emulator")
def test_the_budget_notebook_runs_headless(emulator_target: AwsTarget, tmp_path: Path) -> None:
    notebook = PROJECT_ROOT / "notebooks" / "08_budget.ipynb"
    executed = papermill.execute_notebook(
        str(notebook), str(tmp_path / "08_budget.ipynb"), parameters={"environment": "staging"}, progress_bar=False
    )
    outputs = "".join(str(output) for cell in executed.cells for output in cell.get("outputs", []))
    assert "Monthly cost estimate" in outputs and "data:image/svg+xml;base64" in outputs
    budgets_client(emulator_target).describe_budget(
        AccountId=LOCAL_ACCOUNT_ID, BudgetName="AIPX Monthly Budget (staging)"
    )
