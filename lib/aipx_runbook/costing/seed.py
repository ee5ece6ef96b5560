"""What the seed README says each environment costs and what its cost tips claim, and why an estimate sits
where it does against that: the comparison, in words built from the numbers themselves."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .model import Estimate, Scenario, price
from .sizing import cache_nodes, usage_from_sizing

# What the seed's cost tips claim for each discount: its best rate, and its words.
SEED_CLAIMS = {
    "discount.rds_reserved_1yr": (0.60, "the seed quotes 40-60% for Reserved Instances"),
    "discount.elasticache_reserved_1yr": (0.60, "the seed quotes 40-60% for Reserved Instances"),
    "discount.fargate_savings_plan_1yr": (0.17, "the seed quotes 17% for a 1-year Savings Plan"),
    "discount.fargate_spot": (0.70, "the seed quotes up to 70% for Fargate Spot"),
}


@dataclass(frozen=True)
class SeedExpectation:
    """What the seed README says an environment costs, and the sizing it says that buys."""

    low_usd: float
    high_usd: float
    wording: str
    sizing: dict[str, Any]


SEED = {
    "dev": SeedExpectation(
        300,
        400,
        "~$300-400/month",
        {
            "kafka_instance_type": "kafka.t3.small",
            "kafka_broker_count": 1,
            "redis_node_type": "cache.t3.micro",
            "redis_nodes": 1,
            "rds_instance_class": "db.t3.micro",
            "rds_multi_az": False,
            "fargate_cpu": 256,
            "fargate_memory": 512,
        },
    ),
    "production": SeedExpectation(
        1500,
        1800,
        "~$1,500-1,800/month (after optimisation)",
        {
            "kafka_instance_type": "kafka.m5.large",
            "kafka_broker_count": 3,
            "redis_node_type": "cache.r6g.large",
            "redis_nodes": 6,
            "rds_instance_class": "db.r6g.xlarge",
            "rds_multi_az": True,
            "fargate_cpu": 1024,
            "fargate_memory": 2048,
        },
    ),
}


def seed_range(environment: str) -> list[float] | None:
    seed = SEED.get(environment)
    return [seed.low_usd, seed.high_usd] if seed else None


def versus_seed(environment: str, monthly: float) -> str:
    seed = SEED.get(environment)
    if seed is None:
        return "the seed gives no figure"
    if monthly < seed.low_usd:
        return f"${seed.low_usd - monthly:,.0f} below"
    if monthly > seed.high_usd:
        return f"${monthly - seed.high_usd:,.0f} above"
    return "within"


def sizing_differences(environment: str, sizing: dict[str, Any]) -> list[str]:
    seed = SEED.get(environment)
    if seed is None or not sizing:
        return []
    ours = dict(sizing)
    ours["redis_nodes"] = cache_nodes(sizing)
    return [f"{name} {ours[name]} (seed: {value})" for name, value in seed.sizing.items() if ours[name] != value]


def explain(estimate: Estimate, scenario: Scenario) -> str:
    """Why this scenario's figure sits where it does against the seed's range, from the numbers themselves."""
    total = estimate.total(scenario)
    seed = SEED.get(estimate.environment)
    position = versus_seed(estimate.environment, total)
    if seed:
        parts = [
            f"${total:,.0f} is {position} the seed's {seed.wording}"
            if position != "within"
            else f"${total:,.0f} is within the seed's {seed.wording}"
        ]
    else:
        parts = [f"${total:,.0f}; the seed gives no figure for {estimate.environment}"]
    for commitment, key in scenario.discounts.items():
        discount = estimate.table.get(key)
        covered = sum(line.monthly_usd for line in estimate.lines if line.usage.commitment == commitment)
        parts.append(f"{commitment} {discount.value:.0%} off ${covered:,.0f} ({SEED_CLAIMS[key][1]})")
    if scenario.discounts:
        best = {commitment: SEED_CLAIMS[key][0] for commitment, key in scenario.discounts.items()}
        rates = ", ".join(f"{commitment} {rate:.0%}" for commitment, rate in best.items())
        parts.append(f"at the seed's best rates ({rates}) it would be ${estimate.total_at(best):,.0f}")
    if scenario.name == "fargate_spot" and estimate.fargate_spot_configured:
        parts.append("the stack already asks for Fargate Spot, so this is the configured state")
    components = sorted(estimate.by_component().items(), key=lambda item: item[1], reverse=True)[:3]
    parts.append("largest on-demand items: " + ", ".join(f"{name} ${value:,.0f}" for name, value in components))
    differences = sizing_differences(estimate.environment, estimate.sizing)
    if differences:
        seed_total = at_seed_sizing(estimate).total(scenario)
        parts.append(
            f"sizing differs from the seed's: {', '.join(differences)}; "
            f"the seed's sizing priced the same way comes to ${seed_total:,.0f}"
        )
    return "; ".join(parts)


def at_seed_sizing(estimate: Estimate) -> Estimate:
    """The same estimate with the sizing the seed describes for the environment."""
    described = dict(SEED[estimate.environment].sizing)
    nodes = described.pop("redis_nodes")
    sizing = {**estimate.sizing, **described, "redis_num_node_groups": nodes, "redis_replicas_per_node_group": 0}
    usages = usage_from_sizing(sizing, estimate.assumptions)
    return price(estimate.environment, "the seed's sizing", usages, estimate.table, estimate.assumptions, sizing=sizing)
