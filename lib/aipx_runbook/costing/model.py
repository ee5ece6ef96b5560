"""The estimate's records: priced usage (line items), commitment-discount scenarios, and one environment's
estimate with its totals; ``price`` turns usage into line items with the price table."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..contract import COST_COMPONENTS
from ..prices import Price, PriceTable
from .assumptions import Assumptions

# How each price was obtained, as the line items show it: a list price, or one derived from other prices.
BASIS_LABELS = {
    "transcribed": "list",
    "price-list-api": "list (Price List API)",
    "derived": "derived",
    "approximate": "approximate",
}


def basis_label(price: Price) -> str:
    return BASIS_LABELS.get(price.basis, price.basis)


@dataclass(frozen=True)
class Usage:
    """One priced quantity a month: ``quantity`` is in the unit of the price at ``price_key``."""

    component: str
    item: str
    price_key: str
    quantity: float
    commitment: str = ""  # the commitment discount that can apply: rds, elasticache or fargate


@dataclass(frozen=True)
class LineItem:
    usage: Usage
    price: Price

    @property
    def monthly_usd(self) -> float:
        return self.usage.quantity * self.price.value


@dataclass(frozen=True)
class Scenario:
    name: str
    label: str
    discounts: dict[str, str]  # commitment → discount key in the price table


SCENARIOS = (
    Scenario("on_demand", "On-demand", {}),
    Scenario(
        "reserved_1yr",
        "1-year Reserved Instances (RDS, ElastiCache)",
        {"rds": "discount.rds_reserved_1yr", "elasticache": "discount.elasticache_reserved_1yr"},
    ),
    Scenario(
        "fargate_savings_plan",
        "1-year Compute Savings Plan (Fargate)",
        {"fargate": "discount.fargate_savings_plan_1yr"},
    ),
    Scenario("fargate_spot", "Fargate Spot", {"fargate": "discount.fargate_spot"}),
    Scenario(
        "optimised",
        "Reserved Instances + Savings Plan",
        {
            "rds": "discount.rds_reserved_1yr",
            "elasticache": "discount.elasticache_reserved_1yr",
            "fargate": "discount.fargate_savings_plan_1yr",
        },
    ),
)
SCENARIOS_BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}


@dataclass
class Estimate:
    environment: str
    basis: str
    lines: list[LineItem]
    table: PriceTable
    assumptions: Assumptions
    sizing: dict[str, Any] = field(default_factory=dict)
    fargate_spot_configured: bool = False
    unpriced: list[str] = field(default_factory=list)

    @property
    def on_demand(self) -> float:
        return sum(line.monthly_usd for line in self.lines)

    def by_component(self) -> dict[str, float]:
        totals = dict.fromkeys(COST_COMPONENTS, 0.0)
        for line in self.lines:
            totals[line.usage.component] += line.monthly_usd
        return totals

    def total(self, scenario: Scenario) -> float:
        return self.total_at({commitment: self.table.get(key).value for commitment, key in scenario.discounts.items()})

    def total_at(self, discounts: dict[str, float]) -> float:
        """The monthly total with ``discounts`` (commitment → fraction off) applied to what each covers."""
        return sum(line.monthly_usd * (1 - discounts.get(line.usage.commitment, 0.0)) for line in self.lines)

    def by_price_basis(self) -> dict[str, float]:
        """How much of the on-demand total rests on list prices and how much on derived ones."""
        totals: dict[str, float] = {}
        for line in self.lines:
            label = basis_label(line.price)
            totals[label] = round(totals.get(label, 0.0) + line.monthly_usd, 2)
        return totals


def price(
    environment: str,
    basis: str,
    usages: Iterable[Usage],
    table: PriceTable,
    assumptions: Assumptions,
    **details: Any,
) -> Estimate:
    lines = [LineItem(usage, table.get(usage.price_key)) for usage in usages if usage.quantity]
    return Estimate(environment, basis, lines, table, assumptions, **details)
