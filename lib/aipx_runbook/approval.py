"""Approval of a destructive step: explicit parameters when headless, a click when a person is at the keyboard.

A widget callback alone never gates anything: papermill and nbval never click, and ipykernel does not even
deliver a click to a cell that is still running. So the cell *waits* in :func:`approve`: it shows the
confirmation widget and lets the kernel answer the page through :class:`~.kernel_pump.ShellPump` (widget traffic,
reconnects) while every other message (the next cells of a "Run All") waits for the decision. Only the value
:func:`approve` returns lets the step go on.

The decision is put on record as plain output (what, for which plan, when, by whom): the widget is replaced by
it, so the saved notebook and its HTML report keep it and never show a widget whose kernel is gone. Kernels whose
message stream cannot be pumped get a typed prompt instead, which blocks in any frontend that lets the kernel ask
for input.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass, field
from typing import Any

from .errors import ApprovalRequired
from .interactive import is_interactive
from .kernel_pump import ShellPump, main_shell_stream
from .results import NO_MATHS

DEFAULT_TIMEOUT_SECONDS = 900.0
POLL_SECONDS = 0.05
INTERRUPTED = "interrupted (Kernel → Interrupt)"


@dataclass(frozen=True)
class ApprovalRequest:
    """What the person is asked to approve: the action, the environment, the plan and its counts."""

    action: str
    environment: str
    button: str
    counts: dict[str, int] = field(default_factory=dict)
    type_to_confirm: str = ""
    plan_sha256: str = ""

    def counts_text(self) -> str:
        counts = self.counts
        text = (
            f"{counts.get('add', 0)} to add, {counts.get('change', 0)} to change, {counts.get('destroy', 0)} to destroy"
        )
        if counts.get("destroy", 0):
            text += f" ({counts.get('replace', 0)} replaced, {counts.get('delete', 0)} deleted)"
        outputs = counts.get("outputs_changed", 0)
        if outputs:
            text += f"; {outputs} output{'s' if outputs != 1 else ''} changing"
        return text

    def subject(self) -> str:
        plan = f" (plan sha256 {self.plan_sha256[:12]})" if self.plan_sha256 else ""
        return f"{self.action} for {self.environment}{plan}: {self.counts_text()}"


@dataclass(frozen=True)
class Decision:
    """The decision on record: printed as plain text and HTML, so saved notebooks and reports keep it."""

    request: ApprovalRequest
    outcome: str
    method: str
    at: str

    @property
    def approved(self) -> bool:
        return self.outcome == "approved"

    def __str__(self) -> str:
        verdict = f"APPROVED by {self.method}" if self.approved else f"NOT APPROVED: {self.outcome}"
        return f"{verdict} at {self.at}. {self.request.subject()}"

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.approved else "#cf222e"
        return (
            f"<div class='{NO_MATHS}' style='border-left:4px solid {colour};padding-left:8px'>"
            f"<b style='color:{colour}'>{html.escape(str(self).split('. ', 1)[0])}</b>. "
            f"{html.escape(self.request.subject())}</div>"
        )

    def __repr__(self) -> str:
        return str(self)


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())


def approve(request: ApprovalRequest, headless_approved: bool, headless_fix: str, timeout: float = 0) -> str:
    """How the step was approved ("parameters" headless, else "click" or "typed answer"); raises ApprovalRequired
    when it was not. The decision is printed either way."""
    if not is_interactive():
        if not headless_approved:
            raise ApprovalRequired(
                f"{request.action} ({request.environment})",
                f"not approved in a headless run ({request.counts_text()}); nothing was changed",
                headless_fix,
            )
        print(Decision(request, "approved", "parameters", _now()), flush=True)
        return "parameters"
    decision = ask(request, timeout or DEFAULT_TIMEOUT_SECONDS)
    if not decision.approved:
        raise ApprovalRequired(
            f"{request.action} ({request.environment})",
            f"{decision.outcome}; nothing was changed",
            "review the plan above and run this cell again to be asked again",
        )
    return decision.method


def ask(request: ApprovalRequest, timeout: float) -> Decision:
    """Show the confirmation and wait for it; the widget is then replaced by the decision."""
    from IPython import get_ipython
    from IPython.display import display

    kernel = get_ipython().kernel
    stream = main_shell_stream(kernel)
    if stream is None:
        return _typed_answer(request)
    until = time.strftime("%H:%M UTC", time.gmtime(time.time() + timeout))
    print(
        f"Waiting for your decision: {request.subject()}. Nothing runs, not even the next cells, until you decide; "
        f"no decision by {until} changes nothing. If the buttons are gone (page reloaded or opened elsewhere), "
        "Kernel → Interrupt cancels this approval and changes nothing.",
        flush=True,
    )
    widget: ConfirmationWidget | None = None
    handle: Any = None
    outcome = ""
    try:  # from the widget's creation on: Kernel → Interrupt may come at any moment
        widget = ConfirmationWidget(request)
        handle = display(widget.box, display_id=True)
        with ShellPump(kernel, stream) as pump:
            deadline = time.monotonic() + timeout
            while widget.decision is None and time.monotonic() < deadline:
                pump.dispatch_pending()
                time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        outcome = INTERRUPTED
    chosen = widget.decision if widget is not None else None
    decision = Decision(request, chosen or outcome or f"no decision within {timeout:.0f} s", "click", _now())
    if widget is not None:
        widget.finish(decision)
    if handle is not None:
        handle.update(decision)
    return decision


def _typed_answer(request: ApprovalRequest) -> Decision:
    word = request.type_to_confirm or request.button.lower()
    answer = input(f"{request.subject()}. Type {word!r} to go on: ")
    outcome = "approved" if answer.strip() == word else f"the answer was not {word!r}"
    decision = Decision(request, outcome, "typed answer", _now())
    print(decision, flush=True)
    return decision


class ConfirmationWidget:
    """The counts, the action button (and for production a field to type the name into), and Cancel."""

    def __init__(self, request: ApprovalRequest) -> None:
        import ipywidgets as widgets

        self.request = request
        self.decision: str | None = None
        destructive = request.counts.get("destroy", 0)
        colour = "#cf222e" if destructive else "#1f2328"
        self.message = widgets.HTML(
            f"<div class='{NO_MATHS}'><b>{html.escape(request.action)} for <code>{html.escape(request.environment)}"
            f"</code>?</b><br><span style='color:{colour}'>{html.escape(request.counts_text())}</span></div>"
        )
        self.typed = (
            widgets.Text(placeholder=f"type {request.type_to_confirm}", continuous_update=True)
            if request.type_to_confirm
            else None
        )
        self.go = widgets.Button(
            description=request.button,
            button_style="danger" if destructive else "warning",
            disabled=bool(self.typed),
        )
        self.cancel = widgets.Button(description="Cancel")
        self.status = widgets.HTML("waiting for your decision…")
        self.go.on_click(self._on_go)
        self.cancel.on_click(self._on_cancel)
        if self.typed is not None:
            self.typed.observe(self._on_typed, names="value")
        controls = [c for c in (self.typed, self.go, self.cancel) if c is not None]
        self.box = widgets.VBox([self.message, widgets.HBox(controls), self.status])

    def _name_typed(self) -> bool:
        return self.typed is None or self.typed.value == self.request.type_to_confirm

    def _on_typed(self, _change: dict[str, Any]) -> None:
        self.go.disabled = not self._name_typed()

    def _on_go(self, _button: Any) -> None:
        if self.decision is None and self._name_typed():
            self.decision = "approved"

    def _on_cancel(self, _button: Any) -> None:
        if self.decision is None:
            self.decision = "cancelled by the operator"

    def finish(self, decision: Decision) -> None:
        """Disabled, showing the decision: what a page that reconnected while it waited still shows."""
        self.go.disabled = self.cancel.disabled = True
        if self.typed is not None:
            self.typed.disabled = True
        self.status.value = f"<b>{html.escape(str(decision))}</b>"
