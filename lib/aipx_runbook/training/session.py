"""A drill as a trainee meets it: set the scene, read the card, check the fix; progress is recorded."""

from __future__ import annotations

from dataclasses import dataclass

from .. import emulator
from ..context import StageContext
from ..errors import UsageError
from ..results import Report, Table
from . import progress, scene
from .drill import Drill
from .inspect import Finding
from .registry import DRILLS, find


@dataclass
class CheckResult:
    drill: Drill
    findings: list[Finding]

    @property
    def passed(self) -> bool:
        return all(finding.ok for finding in self.findings)

    @property
    def problems(self) -> list[str]:
        return [f"{f.what}: {f.found}" for f in self.findings if not f.ok]

    def report(self) -> Report:
        rows = [[f.what, "ok" if f.ok else "fail", f.found] for f in self.findings]
        summary = "PASS" if self.passed else "not yet: " + "; ".join(self.problems)
        report = Report(
            f"Check: {self.drill.title}",
            "ok" if self.passed else "fail",
            summary,
            facts={"drill": self.drill.name, "passed": self.passed, "problems": self.problems},
            tables=[Table(["what", "status", "found"], rows)],
        )
        if not self.passed:
            report.notes.append("fix what is still wrong, then run this check again (the hints above help)")
        return report

    def _repr_html_(self) -> str:
        return self.report()._repr_html_()

    def __str__(self) -> str:
        return str(self.report())

    __repr__ = __str__


def _context(drill: Drill, environment: str) -> StageContext:
    stack = "smoke" if drill.stack == "smoke" else str(scene.stack_path(drill.stack))
    return scene.context(environment, stack)


def set_up(name: str, environment: str = "dev") -> Report:
    """Set the drill's scene on the emulator: the fault is made real."""
    drill = find(name)
    if drill.stack != "smoke":
        scene.install_stack(drill.stack)
    ctx = _context(drill, environment)
    made = drill.setup(ctx)
    progress.record_setup(drill.name, environment, made.remembered)
    report = made.report
    report.facts.update(drill=drill.name, notebook=drill.notebook)
    report.notes.append("parameters for the runbook's notebooks: " + parameters_text(drill, ctx))
    return report


def parameters_text(drill: Drill, ctx: StageContext) -> str:
    text = f"environment = '{ctx.environment}', target = 'local'"
    if drill.stack != "smoke":
        text += f", stack = '{ctx.stack_dir}'"
    return text


def check(name: str, environment: str = "") -> CheckResult:
    """Inspect the emulator and the state: PASS, or what is still wrong. Progress is recorded."""
    drill = find(name)
    environment = environment or progress.load().get(drill.name, {}).get("environment", "dev")
    if drill.stack != "smoke" and not scene.stack_path(drill.stack).exists():
        result = CheckResult(drill, [Finding("drill", False, f"not set up: run `aipx-runbook train {drill.name}`")])
    elif not emulator.status().running:
        # a new emulator would be empty: the check would only say so less clearly
        found = "not running (stopped since the drill was set up, and everything it held is gone)"
        result = CheckResult(
            drill, [Finding("local emulator", False, f"{found}: run `aipx-runbook train {drill.name}` again")]
        )
    else:
        result = CheckResult(drill, drill.check(_context(drill, environment), progress.scene(drill.name)))
    progress.record_check(drill.name, result.passed)
    return result


def overview() -> Report:
    """Every drill with its goal, time and the trainee's progress."""
    done = progress.load()
    rows = [
        [d.number, d.name, f"{d.minutes} min", done.get(d.name, {}).get("status", "not started"), d.goal]
        for d in DRILLS
    ]
    passed = sum(1 for d in DRILLS if done.get(d.name, {}).get("status") == "passed")
    report = Report(
        "Training drills",
        "info",
        f"{passed} of {len(DRILLS)} passed",
        facts={"passed": passed, "drills": len(DRILLS)},
        tables=[Table(["#", "drill", "time", "progress", "goal"], rows)],
    )
    report.notes.append("set one up: aipx-runbook train DRILL; check it: aipx-runbook train DRILL --check")
    return report


class DrillSession:
    """What a drill notebook's cells call: the card, the scene, the check."""

    def __init__(self, name: str, environment: str = "dev") -> None:
        if not isinstance(environment, str):
            raise UsageError(f"environment must be a string, got {environment!r}")
        self.drill = find(name)
        self.environment = environment

    def card(self) -> Report:
        d = self.drill
        rows = [["goal", d.goal], ["teaches", d.teaches], ["time", f"about {d.minutes} minutes"]]
        if d.row:
            rows.append(["troubleshooting table", d.row])
        rows.append(["progress", progress.status(d.name)])
        return Report(f"Drill {d.number}: {d.title}", "info", d.story, tables=[Table(["", ""], rows)])

    def set_scene(self, set_up_scene: bool = True) -> Report:
        if not isinstance(set_up_scene, bool):
            raise UsageError(
                f"set_up must be True or False, got {set_up_scene!r} ({type(set_up_scene).__name__})",
                "pass a real bool: papermill -p set_up False",
            )
        if not set_up_scene:
            return Report("Scene", "info", "left as it is (set_up = False): only the check below runs")
        return set_up(self.drill.name, self.environment)

    def check(self) -> CheckResult:
        return check(self.drill.name, self.environment)

    def _repr_html_(self) -> str:
        return self.card()._repr_html_()

    def __str__(self) -> str:
        return str(self.card())

    __repr__ = __str__


def open_drill(name: str, environment: str = "dev") -> DrillSession:
    return DrillSession(name, environment)
