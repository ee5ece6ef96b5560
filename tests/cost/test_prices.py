"""The shipped price table is complete and dated; refresh reads the Price List API on target aws only."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from aipx_runbook import price_report, prices
from aipx_runbook.aws import AwsTarget
from aipx_runbook.errors import RunbookError

SHIPPED = json.loads(prices.table_path("ap-northeast-2").read_text())


@pytest.mark.parametrize("key", sorted(SHIPPED["prices"]))
def test_every_shipped_price_has_a_source_a_date_and_a_basis(key: str) -> None:
    entry = SHIPPED["prices"][key]
    assert entry["source"].startswith(("https://aws.amazon.com/", "AWS Price List API"))
    assert datetime.date.fromisoformat(entry["date"]) <= datetime.date.today()
    assert entry["basis"] in prices.BASES and entry["unit"]
    if entry["basis"] in ("derived", "approximate"):
        assert entry["note"], "a derived or approximate price says how it was made"
    if key.startswith("discount."):
        assert 0 < entry["value"] < 1
    else:
        assert entry["value"] > 0
        assert entry["price_list"]["filters"]["usagetype"].startswith("APN2-"), "refresh can rebuild it"


def test_the_shipped_table_says_whether_it_was_fetched() -> None:
    table = prices.load()
    assert table.region == "ap-northeast-2"
    if any(price.basis != "price-list-api" for price in table.prices.values()):
        assert "not fetched" in table.note or "kept" in table.note
    assert table.describe() == f"price table ap-northeast-2 dated {table.date} (prices-ap-northeast-2.json)"


def test_the_table_date_is_its_oldest_price(tmp_path: Path, make_price_table: Callable[..., Path]) -> None:
    path = make_price_table(tmp_path / "t.json", {"a": 1.0, "b": 2.0}, date="2026-03-01")
    raw = json.loads(path.read_text())
    raw["prices"]["b"]["date"] = "2025-12-31"
    path.write_text(json.dumps(raw))
    assert prices.load(path=path).date == "2025-12-31"


def test_a_price_without_source_or_a_real_date_is_refused(
    tmp_path: Path, make_price_table: Callable[..., Path]
) -> None:
    path = make_price_table(tmp_path / "t.json", {"a": 1.0, "b": 2.0, "c": 3.0})
    raw = json.loads(path.read_text())
    del raw["prices"]["a"]["source"]
    raw["prices"]["b"]["date"] = "last spring"
    raw["prices"]["c"]["basis"] = "guessed"
    path.write_text(json.dumps(raw))
    with pytest.raises(RunbookError) as raised:
        prices.load(path=path)
    assert raised.value.details.splitlines() == [
        "a: missing source",
        "b: date must be YYYY-MM-DD, not 'last spring'",
        "c: basis must be one of transcribed, derived, approximate, price-list-api, not 'guessed'",
    ]


def test_an_unknown_region_says_which_tables_exist() -> None:
    with pytest.raises(RunbookError) as raised:
        prices.load("eu-west-9")
    assert "ap-northeast-2" in raised.value.fix


def test_refresh_refuses_the_emulator_and_leaves_the_table_alone(
    tmp_path: Path, make_price_table: Callable[..., Path]
) -> None:
    path = make_price_table(tmp_path / "t.json", {"a": 1.0})
    before = path.read_text()
    with pytest.raises(RunbookError) as raised:
        prices.refresh(AwsTarget("local", "ap-northeast-2", "http://127.0.0.1:1"), path)
    assert "Price List API" in raised.value.why
    assert path.read_text() == before


def _product(sku: str, *dimensions: tuple[str, str]) -> str:
    price_dimensions = {
        f"{sku}.T.{index}": {
            "unit": "Hrs",
            "description": f"{sku} tier {begin}",
            "beginRange": begin,
            "pricePerUnit": {"USD": usd},
        }
        for index, (begin, usd) in enumerate(dimensions)
    }
    return json.dumps(
        {"product": {"sku": sku}, "terms": {"OnDemand": {f"{sku}.T": {"priceDimensions": price_dimensions}}}}
    )


def test_refresh_replaces_only_prices_it_can_read_unambiguously(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_price_table: Callable[..., Path]
) -> None:
    path = make_price_table(tmp_path / "t.json", {"nat": 0.059, "requests": 0.2, "twice": 1.0, "discount": 0.3})
    raw = json.loads(path.read_text())
    raw["prices"]["nat"]["price_list"] = {"service": "AmazonEC2", "filters": {"usagetype": "APN2-NatGateway-Hours"}}
    raw["prices"]["requests"]["price_list"] = {
        "service": "AWSLambda",
        "filters": {"usagetype": "APN2-Request"},
        "scale": 1000000,
    }
    raw["prices"]["twice"]["price_list"] = {"service": "AmazonRDS", "filters": {"usagetype": "APN2-X"}}
    path.write_text(json.dumps(raw))

    client = boto3.client("pricing", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    nat_filters = [{"Type": "TERM_MATCH", "Field": "usagetype", "Value": "APN2-NatGateway-Hours"}]
    # a free tier first, then the price: the free tier is not the price
    nat = _product("NAT1", ("0", "0.0000000000"), ("0", "0.0620000000"))
    stubber.add_response("get_products", {"PriceList": [nat]}, {"ServiceCode": "AmazonEC2", "Filters": nat_filters})
    stubber.add_response("get_products", {"PriceList": [_product("REQ", ("0", "0.0000002000"))]})
    stubber.add_response("get_products", {"PriceList": [_product("A", ("0", "1.1")), _product("B", ("0", "1.2"))]})
    stubber.activate()
    monkeypatch.setattr(AwsTarget, "client", lambda self, service, region=None: client)

    shown = price_report.refresh_report(
        prices.refresh(AwsTarget("aws", "ap-northeast-2"), path, today=datetime.date(2026, 12, 1))
    )
    stubber.assert_no_pending_responses()

    table = prices.load(path=path)
    assert (table.get("nat").value, table.get("nat").date, table.get("nat").basis) == (
        0.062,
        "2026-12-01",
        "price-list-api",
    )
    assert "SKU NAT1" in table.get("nat").source
    assert table.get("requests").value == pytest.approx(0.2)
    assert (table.get("twice").value, table.get("twice").date) == (1.0, "2026-01-02")
    assert (table.get("discount").value, table.get("discount").basis) == (0.3, "transcribed")
    assert table.date == "2026-01-02"
    assert shown.facts["refreshed"] == 2 and shown.facts["kept"] == 2
    assert "2 distinct prices matched (1.1, 1.2)" in str(shown)
    assert "2 kept with their own basis and date" in table.note
