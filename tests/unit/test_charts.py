"""The charts (charts.py): SVG whose text stays text, bars sized and stacked by value, the same bytes for the same
data (that they load no plotting library: tests/unit/test_speed_paths.py)."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET

import pytest

from aipx_runbook import charts

SVG = "{http://www.w3.org/2000/svg}"


def _svg(figure: str) -> ET.Element:
    assert figure.startswith("<img alt=")
    encoded = re.search(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', figure).group(1)
    return ET.fromstring(base64.b64decode(encoded).decode())  # well-formed XML, or this raises


def _texts(root: ET.Element, group: str) -> list[str]:
    found = root.find(f".//{SVG}g[@id='{group}']")
    return ["".join(text.itertext()) for text in found.iter(f"{SVG}text")]


def _bars(root: ET.Element) -> dict[str, dict[str, float]]:
    """Each bar by its tooltip ("label, series: value"): its geometry."""
    bars = root.find(f".//{SVG}g[@id='bars']")
    return {
        rect.find(f"{SVG}title").text: {key: float(rect.get(key)) for key in ("x", "y", "width", "height")}
        for rect in bars.iter(f"{SVG}rect")
    }


def test_a_column_chart_keeps_its_text_as_text_and_stacks_bars_by_value() -> None:
    figure = charts.stacked_columns(
        ["dev\n(planned state)", "staging"],
        {"network": [10.0, 0.0], "database": [30.0, 20.5], "logs": [0.0, 0.0]},
        ylabel="USD per month (on demand)",
        title="Cost per component (prices dated 2026-01-02)",
        alt="cost per component per environment",
    )
    root = _svg(figure)
    assert root.find(f"{SVG}title").text == "Cost per component (prices dated 2026-01-02)"
    assert root.find(f"{SVG}desc").text == "cost per component per environment"
    assert root.find(f".//{SVG}text[@id='axis-label']").text == "USD per month (on demand)"
    assert _texts(root, "legend") == ["network", "database"], "a series without any value has no legend entry"
    categories = root.find(f".//{SVG}g[@id='categories']")
    assert [[span.text for span in text] for text in categories] == [["dev", "(planned state)"], ["staging"]]
    assert _texts(root, "tick-labels") == ["0", "5", "10", "15", "20", "25", "30", "35", "40"]
    bars = _bars(root)
    assert set(bars) == {
        "dev (planned state), network: 10",
        "dev (planned state), database: 30",
        "staging, database: 20.50",
    }
    network, database = bars["dev (planned state), network: 10"], bars["dev (planned state), database: 30"]
    assert database["height"] == pytest.approx(3 * network["height"], abs=0.2)  # drawn to 0.1 px
    assert database["y"] + database["height"] == pytest.approx(network["y"], abs=0.2), "stacked on the first"
    assert bars["staging, database: 20.50"]["x"] > network["x"]


def test_a_bar_chart_lists_names_top_to_bottom_with_whole_number_ticks_and_the_callers_colours() -> None:
    figure = charts.stacked_bars(
        ["network", "streaming", "cache"],
        {"delete": [0, 1, 0], "update": [0, 0, 0], "create": [2, 1, 0]},
        {"delete": "#cf222e", "update": "#0969da", "create": "#1a7f37"},
        xlabel="resources",
        title="Changes per component",
        alt="network: 2 create; streaming: 1 create, 1 delete",
    )
    assert figure.startswith('<img alt="network: 2 create; streaming: 1 create, 1 delete"')
    root = _svg(figure)
    assert _texts(root, "categories") == ["network", "streaming", "cache"]
    assert _texts(root, "tick-labels") == ["0", "1", "2"], "counts have whole-number ticks"
    assert _texts(root, "legend") == ["delete", "create"]
    bars = _bars(root)
    assert set(bars) == {"network, create: 2", "streaming, delete: 1", "streaming, create: 1"}
    assert bars["network, create: 2"]["y"] < bars["streaming, create: 1"]["y"], "the first name is on top"
    assert bars["network, create: 2"]["width"] == pytest.approx(2 * bars["streaming, create: 1"]["width"], abs=0.2)
    fills = {rect.get("fill") for rect in root.find(f".//{SVG}g[@id='bars']")}
    assert fills == {"#cf222e", "#1a7f37"}


def test_the_same_data_draws_the_same_bytes_and_markup_in_text_stays_text() -> None:
    def draw() -> str:
        return charts.stacked_bars(
            ["<b>api</b> & more"], {"create": [3]}, {"create": "#1a7f37"}, xlabel="x", title='"t" <i>', alt="a<b"
        )

    figure = draw()
    assert figure == draw()
    assert 'alt="a&lt;b"' in figure
    root = _svg(figure)
    assert _texts(root, "categories") == ["<b>api</b> & more"]
    assert root.find(f".//{SVG}text[@id='title']").text == '"t" <i>'


def test_an_empty_chart_still_draws_its_axes() -> None:
    root = _svg(charts.stacked_columns(["dev"], {"network": [0.0]}, ylabel="USD", title="t", alt="a"))
    assert _bars(root) == {} and _texts(root, "legend") == []
    assert _texts(root, "tick-labels") == ["0", "1"]
