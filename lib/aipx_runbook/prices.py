"""The dated price table the cost estimate uses, and its refresh from the AWS Price List API.

One JSON file per region ships in ``data/``. Every price carries its value, unit, source, the date it
was read and its basis (transcribed, derived, approximate, or read from the Price List API). Entries
with a ``price_list`` query can be rebuilt by :func:`refresh`; the others (discount rates AWS only
publishes as ranges) keep their transcribed value and say so.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import filecache
from .aws import AwsTarget
from .errors import RunbookError

DATA_DIR = Path(__file__).resolve().parent / "data"
PRICE_LIST_REGION = "us-east-1"
BASES = ("transcribed", "derived", "approximate", "price-list-api")
REQUIRED_FIELDS = ("value", "unit", "source", "date", "basis")


@dataclass(frozen=True)
class Price:
    key: str
    value: float
    unit: str
    source: str
    date: str
    basis: str
    note: str = ""


@dataclass(frozen=True)
class PriceTable:
    region: str
    note: str
    prices: dict[str, Price]
    path: Path

    @property
    def date(self) -> str:
        """The oldest date in the table: no price in it was read earlier than this."""
        return min(price.date for price in self.prices.values())

    def describe(self) -> str:
        return f"price table {self.region} dated {self.date} ({self.path.name})"

    def get(self, key: str) -> Price:
        try:
            return self.prices[key]
        except KeyError:
            raise RunbookError(
                "price the estimate",
                f"the price table has no entry '{key}'",
                f"add it to {self.path} with value, unit, source, date and basis, "
                "or choose a size the table prices (see `aipx-runbook prices show`)",
            ) from None


def table_path(region: str) -> Path:
    return DATA_DIR / f"prices-{region}.json"


def validate(raw: dict[str, Any]) -> list[str]:
    """Every problem that makes the table unusable or undated, one line each."""
    problems = [f"top-level '{name}' is missing" for name in ("region", "note", "prices") if not raw.get(name)]
    for key, entry in (raw.get("prices") or {}).items():
        missing = [name for name in REQUIRED_FIELDS if entry.get(name) in (None, "")]
        if missing:
            problems.append(f"{key}: missing {', '.join(missing)}")
            continue
        if not isinstance(entry["value"], int | float) or isinstance(entry["value"], bool) or entry["value"] < 0:
            problems.append(f"{key}: value must be a number ≥ 0, not {entry['value']!r}")
        try:
            datetime.date.fromisoformat(entry["date"])
        except (TypeError, ValueError):
            problems.append(f"{key}: date must be YYYY-MM-DD, not {entry['date']!r}")
        if entry["basis"] not in BASES:
            problems.append(f"{key}: basis must be one of {', '.join(BASES)}, not {entry['basis']!r}")
    return problems


def load(region: str = "ap-northeast-2", path: Path | None = None) -> PriceTable:
    path = path or table_path(region)
    if not path.is_file():
        raise RunbookError(
            f"load the price table for {region}",
            f"{path} does not exist",
            f"only {', '.join(sorted(p.stem.removeprefix('prices-') for p in DATA_DIR.glob('prices-*.json')))} "
            "ship with the runbook; copy one and run `aipx-runbook prices refresh --target aws --region "
            f"{region}` to fill it",
        )
    return _parse(path)


@filecache.by_content
def _parse(path: Path) -> PriceTable:
    raw = json.loads(path.read_text())
    problems = validate(raw)
    if problems:
        raise RunbookError(
            f"load {path.name}", "the price table is incomplete", f"fix {path}", details="\n".join(problems)
        )
    prices = {
        key: Price(key, float(e["value"]), e["unit"], e["source"], e["date"], e["basis"], e.get("note", ""))
        for key, e in raw["prices"].items()
    }
    return PriceTable(raw["region"], raw["note"], prices, path)


@dataclass(frozen=True)
class PriceChange:
    """One entry of a refresh: its value before and after, and why it was refreshed or kept."""

    key: str
    before: float
    after: float
    result: str  # "refreshed" or "kept"
    detail: str


@dataclass(frozen=True)
class Refresh:
    """What a refresh did to a price table (rendered by :mod:`aipx_runbook.price_report`)."""

    region: str
    path: Path
    date: str
    changes: list[PriceChange]

    @property
    def refreshed(self) -> int:
        return sum(change.result == "refreshed" for change in self.changes)

    @property
    def kept(self) -> int:
        return len(self.changes) - self.refreshed


def refresh(target: AwsTarget, path: Path | None = None, today: datetime.date | None = None) -> Refresh:
    """Rebuild every entry that has a Price List query from the AWS Price List API (target aws only).

    An entry is replaced only when its query matches exactly one non-zero price; every other entry
    keeps its value, date and basis, and the result says why.
    """
    if target.is_local:
        raise RunbookError(
            "refresh the price table",
            "the local emulator has no AWS Price List API, so there is nothing true to read from it",
            "run `aipx-runbook prices refresh --target aws` with credentials allowed pricing:GetProducts",
        )
    path = path or table_path(target.region)
    raw = json.loads(path.read_text())
    client = target.client("pricing", region=PRICE_LIST_REGION)
    stamp = (today or datetime.date.today()).isoformat()
    changes = []
    for key, entry in raw["prices"].items():
        query = entry.get("price_list")
        if not query:
            detail = f"no Price List query ({entry['basis']})"
            changes.append(PriceChange(key, entry["value"], entry["value"], "kept", detail))
            continue
        offers = _offers(client, query)
        if len(offers) != 1:
            found = ", ".join(f"{value:g}" for value in sorted(offers)) or "none"
            detail = f"{len(offers)} distinct prices matched ({found})"
            changes.append(PriceChange(key, entry["value"], entry["value"], "kept", detail))
            continue
        ((value, described),) = offers.items()
        scaled = round(value * query.get("scale", 1), 10)
        changes.append(PriceChange(key, entry["value"], scaled, "refreshed", described))
        entry.update(value=scaled, date=stamp, basis="price-list-api", source=f"AWS Price List API {described}")
        entry.pop("note", None)
    result = Refresh(raw["region"], path, stamp, changes)
    refreshed, kept = result.refreshed, result.kept
    raw["note"] = (
        f"Refreshed on {stamp} from the AWS Price List API: {refreshed} entries read from it and dated {stamp}; "
        f"{kept} kept with their own basis and date (see each entry). Prices exclude tax (Korean VAT is 10%)."
    )
    path.write_text(json.dumps(raw, indent=2) + "\n")
    return result


def _offers(client: Any, query: dict[str, Any]) -> dict[float, str]:
    """Distinct non-zero on-demand prices for a query → a description of where each came from."""
    filters = [{"Type": "TERM_MATCH", "Field": field, "Value": value} for field, value in query["filters"].items()]
    offers: dict[float, str] = {}
    for page in client.get_paginator("get_products").paginate(ServiceCode=query["service"], Filters=filters):
        for document in page["PriceList"]:
            product = json.loads(document) if isinstance(document, str) else document
            sku = product["product"]["sku"]
            for term in product.get("terms", {}).get("OnDemand", {}).values():
                dimensions = [d for d in term["priceDimensions"].values() if float(d["pricePerUnit"]["USD"]) > 0]
                if not dimensions:
                    continue
                first_tier = min(dimensions, key=lambda d: float(d.get("beginRange", "0")))
                value = float(first_tier["pricePerUnit"]["USD"])
                offers[value] = f"{query['service']} SKU {sku}: {first_tier['description']} ({first_tier['unit']})"
    return offers
