"""Every chart of the library, drawn with matplotlib's Figure API and returned as an inline ``<img>`` tag.

One style: a ``Figure`` per chart, never pyplot, so no global figure state and no backend switch (a notebook
kernel, the CLI and the tests draw the same way). Callers hand in plain labels and numbers; what they mean
(cost components, plan actions) stays with the caller. matplotlib is imported on first use only: importing
the stages must not load it (tests/unit/test_speed_paths.py).
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence

from .timings import measure


def stacked_columns(
    labels: Sequence[str], series: Mapping[str, Sequence[float]], *, ylabel: str, title: str, alt: str
) -> str:
    """Vertical bars per label, one stacked segment per series with any value, as an inline PNG."""
    with measure("rendering"):
        from matplotlib.figure import Figure

        figure = Figure(figsize=(7, 3.6), dpi=100)
        axes = figure.add_subplot()
        bottoms = [0.0] * len(labels)
        for name, values in series.items():
            if any(values):
                axes.bar(labels, values, bottom=bottoms, label=name)
                bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
        axes.set_ylabel(ylabel)
        axes.set_title(title)
        if any(bottoms):
            axes.legend(fontsize="small", bbox_to_anchor=(1.02, 1), loc="upper left")
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return _img(alt, "image/png", buffer.getvalue())


def stacked_bars(
    names: Sequence[str],
    series: Mapping[str, Sequence[int]],
    colours: Mapping[str, str],
    *,
    xlabel: str,
    title: str,
    alt: str,
) -> str:
    """Horizontal integer bars per name, top to bottom, one stacked segment per series, as an inline SVG whose
    text stays text (searchable) and whose ids are stable from run to run."""
    with measure("rendering"):
        import matplotlib
        from matplotlib.figure import Figure

        figure = Figure(figsize=(7, 0.35 * len(names) + 1.0))
        axes = figure.add_subplot()
        left = [0] * len(names)
        for name, values in series.items():
            if any(values):
                axes.barh(names, values, left=left, color=colours[name], label=name)
                left = [a + b for a, b in zip(left, values, strict=True)]
        axes.invert_yaxis()
        axes.set_xlabel(xlabel)
        axes.xaxis.get_major_locator().set_params(integer=True)
        if any(left):  # a plan whose only actions are not charted (import, forget) draws no bar to name
            axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
        axes.set_title(title)
        figure.tight_layout()
        buffer = io.StringIO()
        with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "aipx"}):
            figure.savefig(buffer, format="svg", metadata={"Date": None})
        return _img(alt, "image/svg+xml", buffer.getvalue().encode())


def _img(alt: str, mime: str, data: bytes) -> str:
    encoded = base64.b64encode(data).decode()
    return f'<img alt="{html.escape(alt)}" src="data:{mime};base64,{encoded}"/>'
