"""The environment's AWS Budget: the seed's budget.json (a monthly COST budget) with e-mail alerts.

Creates the budget, or brings an existing one in line with environments/<env>/runbook.toml
``[budget]``: the limit, one ACTUAL-spend alert per threshold, the e-mail subscribers of each.
Running it again changes nothing.
"""

from __future__ import annotations

import re
from typing import Any

from botocore.exceptions import ClientError

from .aws import AwsTarget
from .config import EnvironmentSettings
from .context import StageContext
from .errors import RunbookError, UsageError
from .results import Report, Table

BUDGETS_REGION = "us-east-1"  # AWS Budgets is a global service served from us-east-1
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Operations moto 5 does not implement (it answers HTTP 500); on the emulator they are not called, and
# the report says what was therefore left unchecked.
EMULATOR_LACKS = frozenset(
    {"UpdateBudget", "DescribeSubscribersForNotification", "CreateSubscriber", "DeleteSubscriber"}
)


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


def _alert_key(notification: dict[str, Any]) -> tuple[Any, ...]:
    return (
        notification["NotificationType"],
        notification["ComparisonOperator"],
        float(notification["Threshold"]),
        notification.get("ThresholdType", "PERCENTAGE"),
    )


def _validate(settings: EnvironmentSettings) -> None:
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
        found: list[dict[str, Any]] = []
        token = None
        while True:
            page = self.client.describe_notifications_for_budget(
                AccountId=self.account, BudgetName=name, **({"NextToken": token} if token else {})
            )
            found += page.get("Notifications", [])
            token = page.get("NextToken")
            if not token:
                return found

    def subscribers(self, name: str, notification: dict[str, Any]) -> set[str]:
        found: set[str] = set()
        token = None
        while True:
            page = self.client.describe_subscribers_for_notification(
                AccountId=self.account,
                BudgetName=name,
                Notification=notification,
                **({"NextToken": token} if token else {}),
            )
            found |= {s["Address"] for s in page.get("Subscribers", []) if s["SubscriptionType"] == "EMAIL"}
            token = page.get("NextToken")
            if not token:
                return found


def _subscribers(emails: tuple[str, ...]) -> list[dict[str, str]]:
    return [{"SubscriptionType": "EMAIL", "Address": address} for address in emails]


def ensure(ctx: StageContext) -> Report:
    """Create or update the environment's budget and its alerts; return what was done."""
    return ctx.record(ensure_budget(ctx.target, ctx.settings))


def ensure_budget(target: AwsTarget, settings: EnvironmentSettings) -> Report:
    _validate(settings)
    account = target.client("sts").get_caller_identity()["Account"]
    api = _Budgets(target, account)
    desired = desired_budget(settings)
    name = desired["BudgetName"]
    emails = settings.budget.notify_emails
    wanted = {_alert_key(alert(p)): alert(p) for p in settings.budget.threshold_percents} if emails else {}
    rows: list[list[Any]] = []
    notes: list[str] = []
    changed = False
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
            rows.append(["budget", f"{desired['BudgetLimit']['Amount']} USD monthly COST", "changed", "created"])
            rows += [[_describe(n), ", ".join(emails), "changed", "created"] for n in wanted.values()]
            changed = True
        else:
            changed |= _align_limit(api, existing, desired, rows, notes)
            changed |= _align_alerts(api, name, wanted, emails, rows, notes)
    except ClientError as error:
        raise RunbookError(
            f"ensure the AWS Budget '{name}'",
            f"{error.operation_name} failed: {error.response['Error'].get('Message') or error}",
            "check that the credentials may use budgets:* (ViewBudget, ModifyBudget) and sts:GetCallerIdentity",
        ) from error
    if not emails:
        notes.append(
            f"no e-mail addresses in environments/{settings.name}/runbook.toml [budget] notify_emails: "
            "the budget tracks spend but alerts nobody"
        )
    status = "warn" if (not emails or any(row[2] == "warn" for row in rows)) else ("changed" if changed else "ok")
    summary = (
        f"'{name}': {desired['BudgetLimit']['Amount']} USD a month, "
        f"alerts at {', '.join(f'{p:g}%' for p in settings.budget.threshold_percents) if emails else 'none'}"
        f" in account {account} ({target.describe()})"
    )
    return Report(
        f"AWS Budget, {settings.name}",
        status,
        summary,
        facts={"budget": name, "monthly_limit_usd": settings.budget.monthly_limit_usd, "alerts": len(wanted)},
        tables=[Table(["what", "setting", "status", "action"], rows)],
        notes=notes,
    )


def _describe(notification: dict[str, Any]) -> str:
    return f"alert: {notification['NotificationType'].lower()} spend > {float(notification['Threshold']):g}%"


def _align_limit(
    api: _Budgets, existing: dict[str, Any], desired: dict[str, Any], rows: list[list[Any]], notes: list[str]
) -> bool:
    current = (float(existing["BudgetLimit"]["Amount"]), existing["TimeUnit"], existing["BudgetType"])
    wanted = (float(desired["BudgetLimit"]["Amount"]), desired["TimeUnit"], desired["BudgetType"])
    setting = f"{desired['BudgetLimit']['Amount']} USD {desired['TimeUnit'].lower()} {desired['BudgetType']}"
    if current == wanted:
        rows.append(["budget", setting, "ok", "kept"])
        return False
    was = f"was {current[0]:g} USD {current[1].lower()} {current[2]}"
    if not api.can("UpdateBudget"):
        rows.append(["budget", setting, "warn", f"not updated ({was})"])
        notes.append(
            "the local emulator (moto) does not implement UpdateBudget, so the limit was not changed there; "
            "on target aws it is updated in place"
        )
        return False
    api.client.update_budget(AccountId=api.account, NewBudget=desired)
    rows.append(["budget", setting, "changed", f"updated ({was})"])
    return True


def _align_alerts(
    api: _Budgets,
    name: str,
    wanted: dict[tuple[Any, ...], dict[str, Any]],
    emails: tuple[str, ...],
    rows: list[list[Any]],
    notes: list[str],
) -> bool:
    changed = False
    present = {_alert_key(n): n for n in api.alerts(name)}
    for key, notification in present.items():
        if key not in wanted:
            api.client.delete_notification(AccountId=api.account, BudgetName=name, Notification=notification)
            rows.append([_describe(notification), "", "changed", "removed (not in runbook.toml)"])
            changed = True
    for key, notification in wanted.items():
        if key not in present:
            api.client.create_notification(
                AccountId=api.account, BudgetName=name, Notification=notification, Subscribers=_subscribers(emails)
            )
            rows.append([_describe(notification), ", ".join(emails), "changed", "created"])
            changed = True
        elif not api.can("DescribeSubscribersForNotification"):
            rows.append([_describe(notification), ", ".join(emails), "ok", "kept (subscribers not checked)"])
        else:
            changed |= _align_subscribers(api, name, present[key], emails, rows)
    if wanted.keys() & present.keys() and not api.can("DescribeSubscribersForNotification"):
        notes.append(
            "the local emulator (moto) cannot list an alert's subscribers, so existing alerts' e-mail "
            "addresses were not compared there; on target aws they are"
        )
    return changed


def _align_subscribers(
    api: _Budgets, name: str, notification: dict[str, Any], emails: tuple[str, ...], rows: list[list[Any]]
) -> bool:
    current = api.subscribers(name, notification)
    added, removed = set(emails) - current, current - set(emails)
    for address in sorted(added):
        api.client.create_subscriber(
            AccountId=api.account,
            BudgetName=name,
            Notification=notification,
            Subscriber={"SubscriptionType": "EMAIL", "Address": address},
        )
    for address in sorted(removed):
        api.client.delete_subscriber(
            AccountId=api.account,
            BudgetName=name,
            Notification=notification,
            Subscriber={"SubscriptionType": "EMAIL", "Address": address},
        )
    action = "kept" if not (added or removed) else f"subscribers +{len(added)} −{len(removed)}"
    rows.append([_describe(notification), ", ".join(emails), "changed" if added or removed else "ok", action])
    return bool(added or removed)
