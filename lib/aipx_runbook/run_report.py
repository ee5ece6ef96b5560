"""The run's HTML report: each executed notebook as a self-contained page, and the run's index page.

Both are rendered from jinja2 templates shipped with the package (``templates/``). The notebook pages use
nbconvert's JupyterLab look through a template that loads nothing from a CDN, so a report opened offline or
years later looks the same, and "$198.87" stays money instead of becoming MathJax.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .run_result import RunResult

TEMPLATES = Path(__file__).parent / "templates"
NOTEBOOK_TEMPLATE = "aipx_report"
# Facts shown under another label on the index page; the others show their key with spaces.
LABELS = {
    "plan_sha256": "plan SHA-256",
    "outputs_changed": "outputs changing",
    "planned_monthly_usd": "planned cost (USD/month, on demand)",
    "current_monthly_usd": "current cost (USD/month, on demand)",
    "approved_by": "approved by",
}


@functools.lru_cache(maxsize=1)
def notebook_exporter() -> Any:
    """One exporter for the run, its templates compiled by rendering a small notebook once: building the
    template environment and compiling the templates cost more than rendering a stage's notebook. The index
    page's template is compiled here too: the runner prepares this while the first stage runs, and writes the
    index once the last one ended."""
    index_template()
    import nbformat

    from .notebook_html import ReportExporter

    exporter = ReportExporter(extra_template_basedirs=[str(TEMPLATES / "nbconvert")], template_name=NOTEBOOK_TEMPLATE)
    output = nbformat.v4.new_output("display_data", data={"text/html": "<b>ok</b>", "text/plain": "ok"})
    cells = [nbformat.v4.new_markdown_cell("# x"), nbformat.v4.new_code_cell("x", outputs=[output])]
    exporter.from_notebook_node(nbformat.v4.new_notebook(cells=cells))
    return exporter


@functools.lru_cache(maxsize=1)
def index_template() -> Any:
    """The run's index page (``templates/index.html.j2``), compiled once per process."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
    )
    return environment.get_template("index.html.j2")


def render_notebook(notebook: Path) -> Path:
    """``<notebook>.html`` beside the executed notebook."""
    body, _ = notebook_exporter().from_filename(str(notebook))
    target = notebook.with_suffix(".html")
    target.write_text(body)
    return target


@dataclass(frozen=True)
class StageView:
    """One stage as the index page shows it."""

    number: str
    name: str
    status: str
    seconds: float
    summary: str
    error: str
    hint: str
    link: str
    facts: list[tuple[str, str]]
    figures: list[str]


def fact_text(value: Any) -> str:
    """A fact as a person reads it: yes/no, lists joined, mappings as "name 3, other 1", money with cents."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, dict):
        return ", ".join(f"{key} {fact_text(item)}" for key, item in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(fact_text(item) for item in value)
    return str(value)


def _facts(*records: dict[str, Any]) -> list[tuple[str, str]]:
    facts: list[tuple[str, str]] = []
    for record in records:
        for key, value in record.get("facts", {}).items():
            if value in (None, "", [], {}):
                continue
            facts.append((LABELS.get(key, key.replace("_", " ")), fact_text(value)))
        if record.get("part") and record.get("summary"):
            facts.append((record.get("title", record["part"]), record["summary"]))
    return facts


def _records(run_dir: Path, stage: str) -> list[dict[str, Any]]:
    """The stage's record, then its parts (the plan's cost), as the stage wrote them."""
    folder = run_dir / "stages"
    main = folder / f"{stage}.json"
    paths = ([main] if main.exists() else []) + sorted(folder.glob(f"{stage}.*.json"))
    records = []
    for path in paths:
        record = json.loads(path.read_text())
        if path != main:
            record["part"] = path.stem.split(".", 1)[1]
        records.append(record)
    return records


def write_index(result: RunResult) -> Path:
    views = []
    for stage in result.stages:
        records = _records(result.run_dir, stage.name)
        views.append(
            StageView(
                stage.number,
                stage.name,
                stage.status,
                stage.seconds,
                stage.summary,
                stage.error,
                stage.hint,
                Path(stage.notebook).with_suffix(".html").name,
                _facts(*records) if records else _facts({"facts": stage.facts}),
                [figure for record in records for figure in record.get("figures", [])],
            )
        )
    run = {
        "environment": result.environment,
        "target": result.target,
        "stack": result.stack,
        "status": result.status,
        "directory": result.run_dir.name,
    }
    page = index_template().render(run=run, stages=views)
    path = result.run_dir / "index.html"
    path.write_text(page)
    return path
