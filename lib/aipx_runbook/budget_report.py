"""The budget stage's Report, rendered from what :func:`aipx_runbook.budget.reconcile` found and did."""

from __future__ import annotations

from .budget import Outcome
from .results import Report, Table


def render(outcome: Outcome) -> Report:
    settings = outcome.settings
    budget = settings.budget
    notes = list(outcome.notes)
    if not budget.notify_emails:
        notes.append(
            f"no e-mail addresses in environments/{settings.name}/runbook.toml [budget] notify_emails: "
            "the budget tracks spend but alerts nobody"
        )
    warned = not budget.notify_emails or any(step.status == "warn" for step in outcome.steps)
    status = "warn" if warned else ("changed" if outcome.changed else "ok")
    alerts = ", ".join(f"{p:g}%" for p in budget.threshold_percents) if budget.notify_emails else "none"
    summary = (
        f"'{outcome.name}': {budget.monthly_limit_usd:g} USD a month, alerts at {alerts}"
        f" in account {outcome.account} ({outcome.target})"
    )
    return Report(
        f"AWS Budget, {settings.name}",
        status,
        summary,
        facts={"budget": outcome.name, "monthly_limit_usd": budget.monthly_limit_usd, "alerts": outcome.alerts},
        tables=[
            Table(
                ["what", "setting", "status", "action"],
                [[step.what, step.setting, step.status, step.action] for step in outcome.steps],
            )
        ],
        notes=notes,
    )
