"""The price table and its refresh as Reports (the CLI's ``prices show`` and ``prices refresh``); the data and
the Price List API calls are in :mod:`aipx_runbook.prices`."""

from __future__ import annotations

from .prices import PriceTable, Refresh
from .results import Report, Table


def table_report(table: PriceTable) -> Report:
    rows = [[p.key, p.value, p.unit, p.basis, p.date, p.source] for p in table.prices.values()]
    return Report(
        f"Prices, {table.region}",
        "info",
        table.describe(),
        facts={"region": table.region, "date": table.date, "entries": len(table.prices)},
        tables=[Table(["key", "value", "unit", "basis", "date", "source"], rows)],
        notes=[table.note],
    )


def refresh_report(result: Refresh) -> Report:
    rows = [[c.key, c.before, c.after, c.result, c.detail] for c in result.changes]
    return Report(
        f"Price table refreshed, {result.region}",
        "changed" if result.refreshed else "warn",
        f"{result.refreshed} of {len(rows)} prices read from the Price List API; {result.kept} kept as they were",
        facts={"path": str(result.path), "refreshed": result.refreshed, "kept": result.kept, "date": result.date},
        tables=[Table(["key", "before", "after", "result", "detail"], rows)],
    )
