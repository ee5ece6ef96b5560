"""The cost Reports: every environment's estimate beside the seed's range (scenarios, components, line items,
notes), the cost of a saved plan against the current state, and the JSON of estimates."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .. import charts, config, plans
from ..context import StageContext
from ..contract import COST_COMPONENTS
from ..errors import RunbookError
from ..results import Report, Table
from ..timings import measure
from .estimates import estimate, estimate_all, of_plan
from .model import SCENARIOS, Estimate, basis_label
from .seed import explain, seed_range, versus_seed

NOT_COVERED = (
    "Not in the estimate: data transfer (between AZs and out to the internet), KMS keys, Secrets Manager, ECR, "
    "SQS, Cloud Map, backups beyond the free allowance, the AWS support plan, free tiers, and tax (Korean VAT adds "
    "10%). Also not priced, as they depend on traffic no setting fixes: X-Ray traces (every Lambda traces "
    "actively: $5.00 per million traces recorded beyond 100,000 free a month) and ECS Container Insights "
    "(on in every cluster: billed as CloudWatch custom metrics, about a dozen per task and service, plus the "
    "ingestion of its performance log group, beyond the logs volume assumed here), CloudWatch alarms and "
    "dashboards."
)


def report(estimates: list[Estimate], chart: bool = True) -> Report:
    """Every environment's estimate: scenarios beside the seed's range, components, line items."""
    scenario_rows, notes = [], []
    for est in estimates:
        for scenario in SCENARIOS:
            total = est.total(scenario)
            seed = seed_range(est.environment)
            scenario_rows.append(
                [
                    est.environment,
                    scenario.label,
                    f"{total:,.2f}",
                    f"{est.on_demand - total:,.2f}",
                    f"{seed[0]:,.0f}-{seed[1]:,.0f}" if seed else "—",
                    versus_seed(est.environment, total),
                ]
            )
            notes.append(f"{est.environment}, {scenario.label}: {explain(est, scenario)}")
    by_component = [est.by_component() for est in estimates]
    component_rows = [[name] + [f"{totals[name]:,.2f}" for totals in by_component] for name in COST_COMPONENTS]
    component_rows.append(["total"] + [f"{est.on_demand:,.2f}" for est in estimates])
    item_rows = [
        [
            est.environment,
            line.usage.component,
            line.usage.item,
            f"{line.usage.quantity:,.2f}",
            line.price.unit,
            _decimal(line.price.value),
            basis_label(line.price),
            f"{line.monthly_usd:,.2f}",
        ]
        for est in estimates
        for line in est.lines
    ]
    tables = {est.table.describe() for est in estimates}
    header = [f"Prices: {', '.join(sorted(tables))}. {estimates[0].table.note}" if estimates else ""]
    header += [
        f"{est.environment}: sizing from {est.basis}; usage assumptions from {_relative(est.assumptions.path)}"
        for est in estimates
    ]
    header += [f"{est.environment}: not priced: {item}" for est in estimates for item in est.unpriced]
    header += [
        f"{est.environment}: of ${est.on_demand:,.0f} on demand, "
        + ", ".join(f"${usd:,.0f} rests on {label} prices" for label, usd in est.by_price_basis().items())
        for est in estimates
    ]
    header.append(NOT_COVERED)
    return Report(
        "Monthly cost estimate",
        "info",
        "; ".join(f"{est.environment} ${est.on_demand:,.0f}/month on demand" for est in estimates)
        + (f" (prices dated {min(est.table.date for est in estimates)})" if estimates else ""),
        facts={est.environment: round(est.on_demand, 2) for est in estimates},
        tables=[
            Table(
                ["environment", "scenario", "USD/month", "saving", "seed's range", "vs seed"],
                scenario_rows,
                "By scenario",
            ),
            Table(
                ["component", *(est.environment for est in estimates)],
                component_rows,
                "By component, on demand (USD/month)",
            ),
            Table(
                ["environment", "component", "item", "quantity", "unit", "unit price", "basis", "USD/month"],
                item_rows,
                "Line items (basis: list = the Seoul list price; derived = computed from other prices, see "
                "`aipx-runbook prices show`)",
            ),
        ],
        notes=header + notes,
        figures=[component_chart(estimates)] if chart and estimates else [],
    )


def report_for(environments: Iterable[str], chart: bool = True) -> Report:
    """Estimate the environments from their tfvars and report them: one call for a notebook cell."""
    return report(estimate_all(environments), chart=chart)


def saved_plan_report(ctx: StageContext) -> Report:
    """The cost of the plan stage 03 saved for this run, beside every environment's estimate."""
    metadata = plans.load(ctx, plans.PLAN)
    plan = plans.shown(ctx, metadata)
    with measure("review"):
        return plan_report(ctx.environment, plan, config.known_environments(), sha256=metadata.sha256)


def plan_report(environment: str, plan: dict[str, Any], others: Iterable[str] = (), sha256: str = "") -> Report:
    """The planned state's estimate, its change from the current state, and a chart beside other environments.
    With the plan's ``sha256``, the estimate the plan stage made for its record is reused (``estimates.of_plan``)."""
    priced = of_plan(environment, plan, sha256)
    planned, current = priced.planned, priced.current
    rows = []
    for name in COST_COMPONENTS:
        before, after = current.by_component()[name], planned.by_component()[name]
        rows.append([name, f"{before:,.2f}", f"{after:,.2f}", f"{after - before:+,.2f}"])
    rows.append(
        [
            "total",
            f"{current.on_demand:,.2f}",
            f"{planned.on_demand:,.2f}",
            f"{planned.on_demand - current.on_demand:+,.2f}",
        ]
    )
    charted, notes = [planned], []
    for other in others:
        if other == environment:
            continue
        try:
            charted.append(estimate(other))
        except RunbookError as error:
            notes.append(f"{other} is not charted: {error.why}")
    if not planned.lines and not current.lines:
        notes.append(
            "the plan holds none of the priced resources (the smoke stack has none); "
            f"`aipx-runbook cost --env {environment}` prices the environment's aws.tfvars"
        )
    base = report([planned], chart=False)
    change = planned.on_demand - current.on_demand
    return Report(
        f"Cost of the plan, {environment}",
        "info",
        f"planned ${planned.on_demand:,.2f}/month on demand, {change:+,.2f} against the current "
        f"${current.on_demand:,.2f} (prices dated {planned.table.date})",
        facts={"planned_monthly_usd": round(planned.on_demand, 2), "current_monthly_usd": round(current.on_demand, 2)},
        tables=[Table(["component", "current", "planned", "change"], rows, "On demand, USD/month"), *base.tables],
        notes=notes + base.notes,
        figures=[component_chart(charted)],
    )


def component_chart(estimates: list[Estimate]) -> str:
    """A stacked bar chart of on-demand cost per component per environment, as an inline SVG image."""
    labels = [
        f"{est.environment}\n({est.basis.split(',')[-1].strip()})" if "plan" in est.basis else est.environment
        for est in estimates
    ]
    return charts.stacked_columns(
        labels,
        {name: [est.by_component()[name] for est in estimates] for name in COST_COMPONENTS},
        ylabel="USD per month (on demand)",
        title=f"Cost per component (prices dated {min(est.table.date for est in estimates)})",
        alt="cost per component per environment",
    )


def estimate_json(est: Estimate) -> dict[str, Any]:
    return {
        "on_demand_monthly_usd": round(est.on_demand, 2),
        "basis": est.basis,
        "price_table": est.table.describe(),
        "price_table_date": est.table.date,
        "assumptions": _relative(est.assumptions.path),
        "components": {name: round(value, 2) for name, value in est.by_component().items()},
        "scenarios": {
            s.name: {
                "label": s.label,
                "monthly_usd": round(est.total(s), 2),
                "saving_usd": round(est.on_demand - est.total(s), 2),
                "seed_range_usd": seed_range(est.environment),
                "versus_seed": versus_seed(est.environment, est.total(s)),
                "explanation": explain(est, s),
            }
            for s in SCENARIOS
        },
        "line_items": [
            {
                "component": line.usage.component,
                "item": line.usage.item,
                "quantity": round(line.usage.quantity, 6),
                "unit": line.price.unit,
                "unit_price": line.price.value,
                "monthly_usd": round(line.monthly_usd, 2),
                "price_key": line.price.key,
                "price_basis": basis_label(line.price),
            }
            for line in est.lines
        ],
        "unpriced": est.unpriced,
        "on_demand_usd_by_price_basis": est.by_price_basis(),
    }


def to_json(estimates: list[Estimate]) -> dict[str, Any]:
    return {est.environment: estimate_json(est) for est in estimates}


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(config.project_root()))
    except ValueError:
        return str(path)


def _decimal(value: float) -> str:
    return f"{value:.10f}".rstrip("0").rstrip(".")
