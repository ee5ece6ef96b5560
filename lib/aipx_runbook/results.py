"""Result objects that render as HTML in a notebook and as plain text in logs."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

STATUS_SYMBOLS = {
    "ok": "✔",
    "changed": "✚",
    "warn": "!",
    "fail": "✘",
    "skip": "–",
    "info": "·",
}
# "$" in these outputs is money, not TeX: JupyterLab's MathJax (and nbconvert's) skip elements with these classes.
NO_MATHS = "tex2jax_ignore mathjax_ignore"
# Left-aligned, top-aligned cells: JupyterLab right-aligns table cells by default.
CELL_STYLE = "text-align:left;vertical-align:top"
CODE = re.compile(r"`([^`]+)`")
STATUS_COLOURS = {
    "ok": "#1a7f37",
    "changed": "#0969da",
    "warn": "#9a6700",
    "fail": "#cf222e",
    "skip": "#57606a",
    "info": "#57606a",
}


def inline_html(text: str) -> str:
    """Plain text as HTML, with `code` spans shown as code rather than as literal backticks."""
    return CODE.sub(r"<code>\1</code>", html.escape(text))


@dataclass
class Table:
    """Rows under column names; ``collapsed`` shows it as a summary line the reader opens (``<details>``)."""

    columns: list[str]
    rows: list[list[Any]]
    title: str = ""
    collapsed: bool = False

    def _cell_html(self, value: Any) -> str:
        if isinstance(value, str) and value in STATUS_SYMBOLS:
            colour = STATUS_COLOURS[value]
            return f'<td style="{CELL_STYLE};color:{colour};font-weight:bold">{STATUS_SYMBOLS[value]} {value}</td>'
        return f'<td style="{CELL_STYLE}">{inline_html(_plain(value))}</td>'

    def to_html(self) -> str:
        head = "".join(f"<th style='{CELL_STYLE}'>{html.escape(c)}</th>" for c in self.columns)
        body = "".join("<tr>" + "".join(self._cell_html(v) for v in row) + "</tr>" for row in self.rows)
        title = f"<b>{html.escape(self.title)}</b>" if self.title else ""
        if self.collapsed:
            table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
            return f"<details><summary style='cursor:pointer'>{title}</summary>{table}</details>"
        caption = f"<caption style='text-align:left'>{title}</caption>" if title else ""
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def to_text(self) -> str:
        cells = [[_plain(c) for c in self.columns]] + [[_plain(v) for v in row] for row in self.rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(self.columns))]
        lines = [self.title] if self.title else []
        for index, row in enumerate(cells):
            lines.append("  ".join(value.ljust(widths[i]) for i, value in enumerate(row)).rstrip())
            if index == 0:
                lines.append("  ".join("-" * w for w in widths))
        return "\n".join(lines)


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_plain(v) for v in value)
    return str(value)


@dataclass
class Report:
    """What a stage did: a status, a one-line summary, headline facts, tables and notes.

    ``facts`` are the headline numbers and names that go into the run's summary.json;
    they never hold secrets.
    """

    title: str
    status: str = "ok"
    summary: str = ""
    facts: dict[str, Any] = field(default_factory=dict)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status != "fail"

    def _repr_html_(self) -> str:
        colour = STATUS_COLOURS.get(self.status, "#57606a")
        symbol = STATUS_SYMBOLS.get(self.status, "")
        parts = [
            f"<div class='{NO_MATHS}' style='border-left:4px solid {colour};padding-left:8px'>",
            f"<h4 style='margin:4px 0'>{symbol} {html.escape(self.title)}</h4>",
        ]
        if self.summary:
            parts.append(f"<p>{inline_html(self.summary)}</p>")
        parts += [table.to_html() for table in self.tables]
        parts += self.figures
        if self.notes:
            parts.append("<ul>" + "".join(f"<li>{inline_html(n)}</li>" for n in self.notes) + "</ul>")
        parts.append("</div>")
        return "".join(parts)

    def __str__(self) -> str:
        lines = [f"[{self.status}] {self.title}"]
        if self.summary:
            lines.append(self.summary)
        for table in self.tables:
            lines += ["", table.to_text()]
        if self.notes:
            lines.append("")
            lines += [f"- {note}" for note in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)
