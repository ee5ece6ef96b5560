"""The plan as Markdown for a pull request: one section per environment, from the records stage 03 wrote.

`aipx-runbook report --format markdown --run-dir DIR [--run-dir DIR …] [--comment]` renders it; the workflow puts
one environment's section in its job summary and all of them in one sticky pull-request comment, found again by
``MARKER``. Nothing here runs Terraform or reads a plan file: everything comes from ``tfplan.record.json`` (which
holds no secret) and, when the plan did not get that far, from ``summary.json``'s failed stage.

GitHub refuses a comment over 65,536 characters. The sections share that budget: long lists are cut to fewer
rows ("… and N more") until the comment fits, and past that the text is cut with a note saying where the rest is.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from .contract import MASK
from .errors import RunbookError
from .plan_record import ChangeRecord, PlanRecord, record_path

MARKER = "<!-- aipx-plan -->"
COMMENT_LIMIT = 65_536
SUMMARY_LIMIT = 1_000_000  # GitHub's step summary takes up to 1 MiB
# Row caps tried in turn for the long lists until the text fits (None = every row).
ROW_CAPS: tuple[int | None, ...] = (None, 400, 200, 100, 50, 20, 5, 0)
OPEN_UP_TO = 15  # the list of other changes starts unfolded up to this many rows
BLANK_LINES = re.compile(r"\n{3,}")
DEFAULT_ARTIFACT = "runbook-plan-{environment}"
TRUNCATED = (
    "\n\n> [!NOTE]\n> Cut here: the report is longer than GitHub's {limit:,}-character limit. "
    "The job summary and the run artifact hold every change.\n"
)


@dataclass(frozen=True)
class Link:
    url: str
    text: str
    artifact: str = ""


@dataclass(frozen=True)
class Section:
    """One environment's plan: its record, or why there is none."""

    environment: str
    record: PlanRecord | None
    problem: str = ""


@dataclass(frozen=True)
class Caps:
    destructive: int | None
    drift: int | None
    others: int | None


def latest_run_dir(path: Path) -> Path:
    """``path`` when it is a run directory, else its newest run directory (CI uploads runs/<env>/)."""
    path = Path(path)
    if (path / "summary.json").exists() or record_path(path).exists():
        return path
    runs = sorted(p for p in path.glob("*") if (p / "summary.json").exists() or record_path(p).exists())
    if not runs:
        raise RunbookError(
            "find the run directory",
            f"{path} holds no run (no summary.json or tfplan.record.json in it or in a folder under it)",
            "pass a run directory made by `aipx-runbook run` (runs/<env>/<stamp>/), or the folder above it",
        )
    return runs[-1]


def load_section(run_dir: Path) -> Section:
    run_dir = latest_run_dir(run_dir)
    summary: dict[str, Any] = {}
    if (run_dir / "summary.json").exists():
        summary = json.loads((run_dir / "summary.json").read_text())
    if record_path(run_dir).exists():
        record = PlanRecord.read(record_path(run_dir))
        return Section(record.environment, record)
    environment = summary.get("environment", run_dir.parent.name)
    failed = next((s for s in summary.get("stages", []) if s.get("status") == "failed"), None)
    if failed:
        problem = (
            f"**FAILED** at stage {failed['number']} ({failed['name']}): {failed.get('error', '')}  \n"
            f"What to do: {failed.get('hint', '')}"
        )
    else:
        problem = f"No plan was recorded in this run (`{run_dir.name}`): stage 03 (plan) did not run."
    return Section(environment, None, problem)


def section_data(section: Section) -> dict[str, Any]:
    record = json.loads(section.record.to_json()) if section.record else None
    return {"environment": section.environment, "problem": section.problem, "record": record}


def run_link(env: Mapping[str, str], environment: str, artifact: str = DEFAULT_ARTIFACT) -> Link | None:
    """The GitHub Actions run this report belongs to, from the variables every job has; None outside Actions."""
    server, repository, run_id = (env.get(k, "") for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"))
    if not (server and repository and run_id):
        return None
    return Link(
        f"{server}/{repository}/actions/runs/{run_id}", f"run {run_id}", artifact.format(environment=environment)
    )


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _code(value: Any) -> str:
    text = _cell(value).replace("`", "'")
    return f"`{text}`" if text else ""


@functools.cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("aipx_runbook", "templates"),
        autoescape=False,  # Markdown, not HTML: cells are escaped for tables by the filters below
        trim_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters.update(
        cell=_cell,
        code=_code,
        codes=lambda values: ", ".join(_code(v) for v in values),
        batch_of=lambda items, cap: list(items) if cap is None else list(items)[:cap],
    )
    environment.globals.update(
        mask=MASK,
        money=lambda value: f"{value:,.2f}",
        signed=lambda value: f"{value:+,.2f}",
        more=lambda items, cap: (
            f"\n_… and {len(items) - cap} more: see the job summary or the run artifact._\n"
            if cap is not None and len(items) > cap
            else ""
        ),
    )
    return environment


def headline(section: Section) -> tuple[str, str]:
    record = section.record
    if record is None:
        return ":x:", "no plan"
    counts = record.counts
    drift = f"; {len(record.drift)} changed outside Terraform" if record.drift else ""
    if not record.has_changes:
        return (":mag:" if drift else ":white_check_mark:"), "no changes" + drift
    text = (
        f"{counts['add']} to add, {counts['change']} to change, {counts['destroy']} to destroy, "
        f"{counts['replace']} to replace"
    )
    if record.outputs:
        text += f", {len(record.outputs)} output(s) changing"
    text += drift
    destructive = counts["destroy"] or counts["replace"]
    return (":red_circle:" if destructive else ":yellow_circle:"), text


def render_section(section: Section, caps: Caps, link: Link | None) -> str:
    record = section.record
    changes: list[ChangeRecord] = record.resource_changes if record else []
    icon, text = headline(section)
    markdown = (
        _environment()
        .get_template("plan_section.md.j2")
        .render(
            section=section,
            record=record,
            icon=icon,
            headline=text,
            destructive=[c for c in changes if c.action in ("delete", "replace")],
            others=[c for c in changes if c.action not in ("delete", "replace")],
            caps=caps,
            open_up_to=OPEN_UP_TO,
            link=link,
        )
    )
    return BLANK_LINES.sub("\n\n", markdown).strip() + "\n"


def render(
    sections: list[Section],
    *,
    comment: bool = False,
    limit: int | None = None,
    env: Mapping[str, str] | None = None,
    artifact: str = DEFAULT_ARTIFACT,
) -> str:
    """Every section, with as many rows as fit in ``limit`` characters (the comment limit when ``comment``)."""
    env = os.environ if env is None else env
    limit = limit or (COMMENT_LIMIT if comment else SUMMARY_LIMIT)
    head = f"{MARKER}\n## AIPX Terraform plan\n\n" if comment else ""
    links = [run_link(env, s.environment, artifact) for s in sections]
    text = ""
    for cap in ROW_CAPS:
        caps = Caps(destructive=None if cap is None else max(cap, 50), drift=cap, others=cap)
        if cap == 0:
            caps = Caps(destructive=20, drift=5, others=0)
        bodies = [render_section(s, caps, link) for s, link in zip(sections, links, strict=True)]
        text = head + "\n---\n\n".join(bodies)
        if len(text) <= limit:
            return text
    return truncate(text, limit)


def truncate(text: str, limit: int) -> str:
    """The text cut at a line boundary so that it and the note fit in ``limit``; an open <details> is closed."""
    note = TRUNCATED.format(limit=limit)
    closing = "\n</details>\n"
    cut = text[: limit - len(note) - len(closing)]
    cut = cut[: cut.rfind("\n") + 1] if "\n" in cut else cut
    if cut.count("<details") > cut.count("</details>"):
        cut += closing
    return cut + note
