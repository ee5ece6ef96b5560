"""The environment's AWS Budget: the seed's budget.json (a monthly COST budget) with e-mail alerts.

``reconcile`` creates the budget, or brings an existing one in line with environments/<env>/runbook.toml
``[budget]``: the limit, one ACTUAL-spend alert per threshold, the e-mail subscribers of each. Running it
again changes nothing. It returns a typed :class:`Outcome`; :mod:`aipx_runbook.budget_report` renders it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from .aws import AwsTarget
from .config import EnvironmentSettings
from .errors import RunbookError, UsageError

BUDGETS_REGION = "us-east-1"  # AWS Budgets is a global service served from us-east-1
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Operations moto 5 does not implement (it answers HTTP 500); on the emulator they are not called, and
# the report says what was therefore left unchecked.
EMULATOR_LACKS = frozenset(
    {"UpdateBudget", "DescribeSubscribersForNotification", "CreateSubscriber", "DeleteSubscriber"}
)
NO_UPDATE_ON_EMULATOR = (
    "the local emulator (moto) does not implement UpdateBudget, so the limit was not changed there; "
    "on target aws it is updated in place"
)
NO_SUBSCRIBERS_ON_EMULATOR = (
    "the local emulator (moto) cannot list an alert's subscribers, so existing alerts' e-mail "
    "addresses were not compared there; on target aws they are"
)


@dataclass(frozen=True)
class Step:
    """One thing the budget stage looked at: the budget or an alert, its setting, its status and what was done."""

    what: str
    setting: str
    status: str  # ok, changed or warn
    action: str


@dataclass
class Outcome:
    """What ``reconcile`` found and did for one environment's budget."""

    settings: EnvironmentSettings
    account: str
    target: str  # the target, described
    steps: list[Step] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return budget_name(self.settings.name)

    @property
    def changed(self) -> bool:
        return any(step.status == "changed" for step in self.steps)

    @property
    def alerts(self) -> int:
        budget = self.settings.budget
        return len({float(percent) for percent in budget.threshold_percents}) if budget.notify_emails else 0


def budget_name(environment: str) -> str:
    return f"AIPX Monthly Budget ({environment})"


def desired_budget(settings: EnvironmentSettings) -> dict[str, Any]:
    """The seed's budget.json for this environment."""
    return {
        "BudgetName": budget_name(settings.name),
        "BudgetLimit": {"Amount": f"{settings.budget.monthly_limit_usd:g}", "Unit": "USD"},
        "TimeUnit": "MONTHLY",
        "BudgetType": "COST",
    }


def alert(threshold_percent: float) -> dict[str, Any]:
    return {
        "NotificationType": "ACTUAL",
        "ComparisonOperator": "GREATER_THAN",
        "Threshold": float(threshold_percent),
        "ThresholdType": "PERCENTAGE",
    }


def describe_alert(notification: dict[str, Any]) -> str:
    return f"alert: {notification['NotificationType'].lower()} spend > {float(notification['Threshold']):g}%"


def _alert_key(notification: dict[str, Any]) -> tuple[Any, ...]:
    return (
        notification["NotificationType"],
        notification["ComparisonOperator"],
        float(notification["Threshold"]),
        notification.get("ThresholdType", "PERCENTAGE"),
    )


def validate(settings: EnvironmentSettings) -> None:
    where = f"environments/{settings.name}/runbook.toml [budget]"
    bad = [address for address in settings.budget.notify_emails if not EMAIL.match(address)]
    if bad:
        raise UsageError(
            f"{where} notify_emails has addresses that are not e-mail addresses: {', '.join(bad)}",
            f"fix notify_emails in {where}",
        )
    if settings.budget.monthly_limit_usd <= 0:
        raise UsageError(f"{where} monthly_limit_usd must be above 0", f"set monthly_limit_usd in {where}")
    if any(not 0 < percent <= 1000 for percent in settings.budget.threshold_percents):
        raise UsageError(f"{where} threshold_percents must be between 0 and 1000", f"fix threshold_percents in {where}")


class _Budgets:
    """The Budgets API for one account, with the steps the emulator cannot answer kept apart."""

    def __init__(self, target: AwsTarget, account: str) -> None:
        self.client = target.client("budgets", region=BUDGETS_REGION)
        self.account = account
        self.emulated = target.is_local

    def can(self, operation: str) -> bool:
        return not (self.emulated and operation in EMULATOR_LACKS)

    def describe(self, name: str) -> dict[str, Any] | None:
        try:
            return self.client.describe_budget(AccountId=self.account, BudgetName=name)["Budget"]
        except ClientError as error:
            if error.response["Error"]["Code"] == "NotFoundException":
                return None
            raise

    def alerts(self, name: str) -> list[dict[str, Any]]:
        pages = self.client.get_paginator("describe_notifications_for_budget").paginate(
            AccountId=self.account, BudgetName=name
        )
        return [notification for page in pages for notification in page.get("Notifications", [])]

    def subscribers(self, name: str, notification: dict[str, Any]) -> set[str]:
        pages = self.client.get_paginator("describe_subscribers_for_notification").paginate(
            AccountId=self.account, BudgetName=name, Notification=notification
        )
        return {s["Address"] for page in pages for s in page.get("Subscribers", []) if s["SubscriptionType"] == "EMAIL"}

    def subscriber(self, operation: str, name: str, notification: dict[str, Any], address: str) -> None:
        getattr(self.client, operation)(
            AccountId=self.account,
            BudgetName=name,
            Notification=notification,
            Subscriber={"SubscriptionType": "EMAIL", "Address": address},
        )


def _subscribers(emails: tuple[str, ...]) -> list[dict[str, str]]:
    return [{"SubscriptionType": "EMAIL", "Address": address} for address in emails]


def reconcile(target: AwsTarget, settings: EnvironmentSettings) -> Outcome:
    """Create or update the environment's budget and its alerts; return what was found and done."""
    validate(settings)
    account = target.client("sts").get_caller_identity()["Account"]
    api = _Budgets(target, account)
    desired = desired_budget(settings)
    name = desired["BudgetName"]
    emails = settings.budget.notify_emails
    wanted = {_alert_key(alert(p)): alert(p) for p in settings.budget.threshold_percents} if emails else {}
    outcome = Outcome(settings, account, target.describe())
    try:
        existing = api.describe(name)
        if existing is None:
            api.client.create_budget(
                AccountId=account,
                Budget=desired,
                NotificationsWithSubscribers=[
                    {"Notification": n, "Subscribers": _subscribers(emails)} for n in wanted.values()
                ],
            )
            limit = f"{desired['BudgetLimit']['Amount']} USD monthly COST"
            outcome.steps.append(Step("budget", limit, "changed", "created"))
            outcome.steps += [Step(describe_alert(n), ", ".join(emails), "changed", "created") for n in wanted.values()]
        else:
            _align_limit(api, existing, desired, outcome)
            _align_alerts(api, name, wanted, emails, outcome)
    except ClientError as error:
        raise RunbookError(
            f"ensure the AWS Budget '{name}'",
            f"{error.operation_name} failed: {error.response['Error'].get('Message') or error}",
            "check that the credentials may use budgets:* (ViewBudget, ModifyBudget) and sts:GetCallerIdentity",
        ) from error
    return outcome


def _align_limit(api: _Budgets, existing: dict[str, Any], desired: dict[str, Any], outcome: Outcome) -> None:
    current = (float(existing["BudgetLimit"]["Amount"]), existing["TimeUnit"], existing["BudgetType"])
    wanted = (float(desired["BudgetLimit"]["Amount"]), desired["TimeUnit"], desired["BudgetType"])
    setting = f"{desired['BudgetLimit']['Amount']} USD {desired['TimeUnit'].lower()} {desired['BudgetType']}"
    if current == wanted:
        outcome.steps.append(Step("budget", setting, "ok", "kept"))
        return
    was = f"was {current[0]:g} USD {current[1].lower()} {current[2]}"
    if not api.can("UpdateBudget"):
        outcome.steps.append(Step("budget", setting, "warn", f"not updated ({was})"))
        outcome.notes.append(NO_UPDATE_ON_EMULATOR)
        return
    api.client.update_budget(AccountId=api.account, NewBudget=desired)
    outcome.steps.append(Step("budget", setting, "changed", f"updated ({was})"))


def _align_alerts(
    api: _Budgets, name: str, wanted: dict[tuple[Any, ...], dict[str, Any]], emails: tuple[str, ...], outcome: Outcome
) -> None:
    present = {_alert_key(n): n for n in api.alerts(name)}
    for key, notification in present.items():
        if key not in wanted:
            api.client.delete_notification(AccountId=api.account, BudgetName=name, Notification=notification)
            outcome.steps.append(Step(describe_alert(notification), "", "changed", "removed (not in runbook.toml)"))
    for key, notification in wanted.items():
        if key not in present:
            api.client.create_notification(
                AccountId=api.account, BudgetName=name, Notification=notification, Subscribers=_subscribers(emails)
            )
            outcome.steps.append(Step(describe_alert(notification), ", ".join(emails), "changed", "created"))
        elif not api.can("DescribeSubscribersForNotification"):
            outcome.steps.append(
                Step(describe_alert(notification), ", ".join(emails), "ok", "kept (subscribers not checked)")
            )
        else:
            outcome.steps.append(_align_subscribers(api, name, present[key], emails))
    if wanted.keys() & present.keys() and not api.can("DescribeSubscribersForNotification"):
        outcome.notes.append(NO_SUBSCRIBERS_ON_EMULATOR)


def _align_subscribers(api: _Budgets, name: str, notification: dict[str, Any], emails: tuple[str, ...]) -> Step:
    current = api.subscribers(name, notification)
    added, removed = set(emails) - current, current - set(emails)
    for address in sorted(added):
        api.subscriber("create_subscriber", name, notification, address)
    for address in sorted(removed):
        api.subscriber("delete_subscriber", name, notification, address)
    action = "kept" if not (added or removed) else f"subscribers +{len(added)} −{len(removed)}"
    return Step(describe_alert(notification), ", ".join(emails), "changed" if added or removed else "ok", action)
