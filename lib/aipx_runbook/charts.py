"""Every chart of the library: stacked bars as SVG, drawn from a jinja2 template, returned as an ``<img>`` tag.

Our own drawing, not matplotlib: its import costs a stage's kernel half a CPU-second (beside Terraform, on
2 cores) and its layout another 0.2 s, for two bar charts. Callers hand in plain labels and numbers; what they
mean (cost components, plan actions) stays with the caller. The SVG keeps its text as text (titles, labels,
legend and tooltips are ``<text>`` and ``<title>`` elements, searchable) and is the same, byte for byte, for
the same data: no dates, no random ids. It goes in an ``<img>`` as a data URI, which JupyterLab shows in an
untrusted notebook too (its sanitizer drops inline ``<svg>``), as do nbconvert's HTML and the run's index page.
"""

from __future__ import annotations

import base64
import functools
import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .timings import measure

TEMPLATE = Path(__file__).parent / "templates" / "stacked_chart.svg.j2"
WIDTH = 700
FONT = 10  # px: tick and category labels, axis label; the title is 12, the legend 9
# matplotlib's default colour cycle, by series position (a series keeps its colour whichever others are empty)
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


@dataclass
class Chart:
    """What the template draws, in pixels: the layout decided here, the drawing there."""

    width: float
    height: float
    title: str
    alt: str
    plot: tuple[float, float, float, float]  # left, top, right, bottom
    bars: list[dict[str, Any]] = field(default_factory=list)  # x, y, w, h, fill, tip
    ticks: list[dict[str, Any]] = field(default_factory=list)  # value axis: x1, y1, x2, y2, tx, ty, anchor, text
    categories: list[dict[str, Any]] = field(default_factory=list)  # x, y, anchor, lines
    axis_label: dict[str, Any] = field(default_factory=dict)  # x, y, rotate, text
    legend: list[dict[str, Any]] = field(default_factory=list)  # x, y, fill, text


def stacked_columns(
    labels: Sequence[str], series: Mapping[str, Sequence[float]], *, ylabel: str, title: str, alt: str
) -> str:
    """Vertical bars per label (a label may hold line breaks), one stacked segment per series with any value."""
    with measure("rendering"):
        colours = {name: PALETTE[index % len(PALETTE)] for index, name in enumerate(series)}
        drawn = {name: values for name, values in series.items() if any(values)}
        lines = max((len(label.split("\n")) for label in labels), default=1)
        height = 360.0
        top, bottom = 34.0, height - 14.0 - 13.0 * lines
        ticks = _ticks(_largest_stack(drawn, len(labels)), integer=False)
        texts = [_tick_text(tick, ticks) for tick in ticks]
        left = 34.0 + _text_width(max(texts, key=len), FONT)
        right = WIDTH - _legend_width(drawn)
        chart = Chart(WIDTH, height, title, alt, (left, top, right, bottom))

        def y_of(value: float) -> float:
            return bottom - value / ticks[-1] * (bottom - top)

        slot = (right - left) / max(len(labels), 1)
        for index, label in enumerate(labels):
            x, width, base = left + slot * (index + 0.1), slot * 0.8, 0.0
            for name, values in drawn.items():
                if values[index]:
                    what = f"{label}, {name}".replace("\n", " ")
                    top_y = y_of(base + values[index])
                    chart.bars.append(_bar(x, top_y, width, y_of(base) - top_y, colours[name], what, values[index]))
                    base += values[index]
            chart.categories.append({"x": x + width / 2, "y": bottom + 15, "anchor": "middle", "lines": label})
        for tick, text in zip(ticks, texts, strict=True):
            chart.ticks.append(_tick(left - 4, y_of(tick), left, y_of(tick), left - 6, y_of(tick) + 3.5, "end", text))
        chart.axis_label = {"x": 14, "y": (top + bottom) / 2, "rotate": -90, "text": ylabel}
        chart.legend = _legend(drawn, colours, right + 12, top)
        return _img(alt, _render(chart))


def stacked_bars(
    names: Sequence[str],
    series: Mapping[str, Sequence[int]],
    colours: Mapping[str, str],
    *,
    xlabel: str,
    title: str,
    alt: str,
) -> str:
    """Horizontal bars per name, top to bottom, one stacked segment per series with any value; whole-number ticks."""
    with measure("rendering"):
        drawn = {name: values for name, values in series.items() if any(values)}
        row, top = 24.0, 34.0
        bottom = top + row * max(len(names), 1)
        left = 16.0 + _text_width(max(names, key=len, default=""), FONT)
        right = WIDTH - _legend_width(drawn)
        ticks = _ticks(_largest_stack(drawn, len(names)), integer=True)
        chart = Chart(WIDTH, bottom + 40, title, alt, (left, top, right, bottom))

        def x_of(value: float) -> float:
            return left + value / ticks[-1] * (right - left)

        for index, name in enumerate(names):
            y, base = top + row * (index + 0.1), 0
            for action, values in drawn.items():
                if values[index]:
                    start, end = x_of(base), x_of(base + values[index])
                    what = f"{name}, {action}"
                    chart.bars.append(_bar(start, y, end - start, row * 0.8, colours[action], what, values[index]))
                    base += values[index]
            chart.categories.append({"x": left - 7, "y": y + row * 0.4 + 3.5, "anchor": "end", "lines": name})
        for tick in ticks:
            x = x_of(tick)
            chart.ticks.append(_tick(x, bottom, x, bottom + 4, x, bottom + 15, "middle", _tick_text(tick, ticks)))
        chart.axis_label = {"x": (left + right) / 2, "y": bottom + 31, "rotate": 0, "text": xlabel}
        chart.legend = _legend(drawn, colours, right + 12, top)
        return _img(alt, _render(chart))


def _largest_stack(drawn: Mapping[str, Sequence[float]], count: int) -> float:
    return max((sum(values[index] for values in drawn.values()) for index in range(count)), default=0.0)


def _ticks(maximum: float, *, integer: bool) -> list[float]:
    """About 8 ticks at a round step (1, 2 or 5 times a power of ten; whole numbers for counts) from 0 to the first
    at or above ``maximum``, where the axis ends."""
    if maximum <= 0:
        return [0.0, 1.0]
    raw = maximum / 8
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    if integer:
        step = max(1.0, float(math.ceil(step)))
    return [index * step for index in range(math.ceil(maximum / step - 1e-9) + 1)]


def _tick_text(value: float, ticks: Sequence[float]) -> str:
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    return f"{value:,.0f}" if step >= 1 else f"{value:,.{max(0, -math.floor(math.log10(step)))}f}"


def _bar(x: float, y: float, w: float, h: float, fill: str, what: str, value: float) -> dict[str, Any]:
    return {"x": x, "y": y, "w": w, "h": h, "fill": fill, "tip": f"{what}: {value:,.2f}".removesuffix(".00")}


def _tick(x1: float, y1: float, x2: float, y2: float, tx: float, ty: float, anchor: str, text: str) -> dict[str, Any]:
    return {"x1": x1, "y1": y1, "x2": x2, "y2": y2, "tx": tx, "ty": ty, "anchor": anchor, "text": text}


def _text_width(text: str, size: float) -> float:
    """An upper estimate of the text's width in DejaVu Sans / Arial (no font metrics without a renderer)."""
    return 0.62 * size * len(text)


def _legend_width(drawn: Mapping[str, Any]) -> float:
    return 40.0 + _text_width(max(drawn, key=len), 9) if drawn else 16.0


def _legend(drawn: Mapping[str, Any], colours: Mapping[str, str], x: float, y: float) -> list[dict[str, Any]]:
    return [{"x": x, "y": y + 6 + 16 * index, "fill": colours[name], "text": name} for index, name in enumerate(drawn)]


def _render(chart: Chart) -> str:
    left, top, right, bottom = chart.plot
    return _template().render(chart=chart, left=left, top=top, right=right, bottom=bottom)


@functools.lru_cache(maxsize=1)
def _template() -> Any:
    import jinja2  # here, not at the top: importing the stages loads no template engine

    environment = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    environment.filters["px"] = lambda value: f"{value:.1f}".removesuffix(".0")
    return environment.from_string(TEMPLATE.read_text())


def _img(alt: str, svg: str) -> str:
    encoded = base64.b64encode(svg.encode()).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/svg+xml;base64,{encoded}"/>'
