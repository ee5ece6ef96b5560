"""The benchmark's printout: medians, ratios and where the runbook's time goes per stage, as text while it runs
and as Markdown for the README's Speed section (date, machine and load average with every figure)."""

from __future__ import annotations

import contextlib
import os
import statistics
from dataclasses import dataclass
from pathlib import Path


def _all(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def report(title: str, target: float, direct: list[float], runbook: list[float], summaries: list[dict]) -> Measured:
    direct_median, runbook_median = statistics.median(direct), statistics.median(runbook)
    ratio = runbook_median / direct_median
    print(f"\n{title}")
    print(f"  direct, median:   {direct_median:7.2f} s   (all: {_all(direct)})")
    print(f"  runbook, median:  {runbook_median:7.2f} s   (all: {_all(runbook)})")
    print(f"  ratio:            {ratio:7.2f}x   (target <= {target:.2f}x: {'met' if ratio <= target else 'NOT met'})")
    in_stages = statistics.median([sum(stage["seconds"] for stage in summary["stages"]) for summary in summaries])
    print(
        f"  the stages alone: {in_stages:7.2f} s, {in_stages / direct_median:.2f}x"
        "   (kernel start and notebook execution, without the CLI's start and the runner's own work)"
    )
    print("  where the runbook's time goes, median seconds per stage (the kinds in parentheses happen outside")
    print("  the stage's time: HTML rendered on the runner's worker thread, imports done as the kernel started ahead):")
    kinds: list[str] = []
    per_stage: dict[str, dict[str, list[float]]] = {}
    outside = []
    for summary, total in zip(summaries, runbook, strict=True):
        for stage in summary["stages"]:
            recorded = stage.get("timings", {})
            spent = dict(recorded.get("seconds", {}))
            spent.update({f"({kind} ahead)": value for kind, value in recorded.get("ahead", {}).items()})
            row = per_stage.setdefault(f"{stage['number']} {stage['name']}", {})
            row.setdefault("stage", []).append(stage["seconds"])
            for kind, seconds in spent.items():
                kind = "(html)" if kind == "html (background)" else kind
                if kind not in kinds:
                    kinds.append(kind)
                row.setdefault(kind, []).append(seconds)
        outside.append(total - sum(stage["seconds"] for stage in summary["stages"]))
    kinds.sort(key=lambda kind: kind.startswith("("))
    columns = ["stage", *kinds]
    print("    " + f"{'':14}" + "".join(f"{name[:12]:>13}" for name in columns))
    for name, row in per_stage.items():
        cells = "".join(f"{statistics.median(row[c]):13.2f}" if c in row else f"{'-':>13}" for c in columns)
        print(f"    {name[:14]:14}{cells}")
    print(f"    {'runner':14}{statistics.median(outside):13.2f}  the runner outside the stages: CLI start, parameter")
    print(f"    {'':14}{'':13}  checks, the first kernel's launch, waiting for the HTML, summary, index, emulator stop")
    breakdown = {name: {kind: statistics.median(got) for kind, got in row.items()} for name, row in per_stage.items()}
    return Measured(
        title, target, direct_median, runbook_median, in_stages, statistics.median(outside), columns, breakdown
    )


@dataclass
class Measured:
    """One half of the benchmark, as medians: what the Markdown for the README is written from."""

    title: str
    target: float
    direct: float
    runbook: float
    stages: float
    runner: float
    columns: list[str]
    breakdown: dict[str, dict[str, float]]

    @property
    def ratio(self) -> float:
        return self.runbook / self.direct


def machine() -> str:
    """The CPU model and the number of cores, for the README's record of where a figure was measured."""
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores{f', {model}' if model else ''}"


def load_average() -> str:
    return ", ".join(f"{value:.1f}" for value in os.getloadavg())


def markdown(measured: list[Measured], started: str, rounds: int, load_before: str, load_after: str) -> str:
    """The figures as Markdown for the README's Speed section: when, where, under which load, then the tables."""
    lines = [
        f"Measured on {started}, {machine()}, {rounds} rounds; load average (1, 5, 15 min) {load_before} before "
        f"and {load_after} after.",
        "",
        "| | direct (median) | runbook (median) | ratio | target | the stages alone | runner outside the stages |",
        "|---|---|---|---|---|---|---|",
    ]
    for half in measured:
        met = "met" if half.ratio <= half.target else "not met"
        lines.append(
            f"| {half.title} | {half.direct:.2f} s | {half.runbook:.2f} s | {half.ratio:.2f}× | "
            f"≤ {half.target:.2f}× ({met}) | {half.stages:.2f} s, {half.stages / half.direct:.2f}× | "
            f"{half.runner:.2f} s |"
        )
    for half in measured:
        lines += ["", f"Where the runbook's time goes, {half.title} (median seconds per stage):", ""]
        lines.append("| stage | " + " | ".join("total" if c == "stage" else c for c in half.columns) + " |")
        lines.append("|---" * (len(half.columns) + 1) + "|")
        for name, row in half.breakdown.items():
            cells = " | ".join(f"{row[c]:.2f}" if c in row else "-" for c in half.columns)
            lines.append(f"| {name} | {cells} |")
    return "\n".join(lines)
