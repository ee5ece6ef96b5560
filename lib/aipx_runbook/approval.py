"""Approval of a destructive step: explicit parameters when headless, a click when a person is at the keyboard.

A widget callback alone never gates anything: papermill and nbval never click, and ipykernel does not even
deliver a click to a cell that is still running. So the cell *waits* in :func:`approve`: it shows the
confirmation widget, then dispatches the widget (comm) messages the kernel receives while it blocks, holding
every other message (the next cells of a "Run All") and handing those back to the kernel, in order, once the
decision is made. Only the value :func:`approve` returns lets the step go on.

This is the idea of the ``jupyter-ui-poll`` package, whose release 1.1.0 relies on ``kernel.do_one_iteration``,
which ipykernel 7 no longer has. Kernels whose message stream cannot be pumped this way get a typed prompt
instead, which blocks in any frontend that lets the kernel ask for input.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import ApprovalRequired
from .interactive import is_interactive

COMM_MESSAGES = frozenset({"comm_open", "comm_msg", "comm_close"})
DEFAULT_TIMEOUT_SECONDS = 900.0
POLL_SECONDS = 0.05


@dataclass(frozen=True)
class ApprovalRequest:
    """What the person is asked to approve: the action, the environment and the plan's counts."""

    action: str
    environment: str
    button: str
    counts: dict[str, int] = field(default_factory=dict)
    type_to_confirm: str = ""

    def counts_text(self) -> str:
        counts = self.counts
        text = (
            f"{counts.get('add', 0)} to add, {counts.get('change', 0)} to change, {counts.get('destroy', 0)} to destroy"
        )
        if counts.get("destroy", 0):
            text += f" ({counts.get('replace', 0)} replaced, {counts.get('delete', 0)} deleted)"
        return text


def approve(request: ApprovalRequest, headless_approved: bool, headless_fix: str, timeout: float = 0) -> str:
    """How the step was approved ("parameters" headless, else "click" or "typed answer"); raises ApprovalRequired
    when it was not."""
    if not is_interactive():
        if not headless_approved:
            raise ApprovalRequired(
                f"{request.action} ({request.environment})",
                f"not approved in a headless run ({request.counts_text()}); nothing was changed",
                headless_fix,
            )
        return "parameters"
    decision, method = ask(request, timeout or DEFAULT_TIMEOUT_SECONDS)
    if decision != "approved":
        raise ApprovalRequired(
            f"{request.action} ({request.environment})",
            f"{decision}; nothing was changed",
            "review the plan above and run this cell again to be asked again",
        )
    return method


def ask(request: ApprovalRequest, timeout: float) -> tuple[str, str]:
    """Show the confirmation and wait for it: ("approved" or why not, how the person answered)."""
    from IPython import get_ipython

    kernel = get_ipython().kernel
    stream = _main_shell_stream(kernel)
    if stream is None:
        return _typed_answer(request), "typed answer"
    widget = ConfirmationWidget(request)
    widget.show()
    with ShellPump(kernel, stream) as pump:
        deadline = time.monotonic() + timeout
        while widget.decision is None and time.monotonic() < deadline:
            pump.dispatch_pending()
            time.sleep(POLL_SECONDS)
    decision = widget.decision or f"no decision within {timeout:.0f} s"
    widget.close(decision)
    return decision, "click"


def _typed_answer(request: ApprovalRequest) -> str:
    word = request.type_to_confirm or request.button.lower()
    answer = input(f"{request.action} for {request.environment}: {request.counts_text()}. Type {word!r} to go on: ")
    return "approved" if answer.strip() == word else f"the answer was not {word!r}"


def _main_shell_stream(kernel: Any) -> Any:
    """The stream carrying the main shell's requests (ipykernel 7), or None when the kernel has no such stream."""
    try:
        from ipykernel.eventloops import get_shell_stream
    except ImportError:
        return None
    stream = get_shell_stream(kernel)
    return stream if hasattr(stream, "_recv_callback") and hasattr(kernel, "shell_handlers") else None


class ConfirmationWidget:
    """The counts, the action button (and for production a field to type the name into), and Cancel."""

    def __init__(self, request: ApprovalRequest) -> None:
        import ipywidgets as widgets

        self.request = request
        self.decision: str | None = None
        destructive = request.counts.get("destroy", 0)
        colour = "#cf222e" if destructive else "#1f2328"
        self.message = widgets.HTML(
            f"<b>{request.action} for <code>{request.environment}</code>?</b><br>"
            f"<span style='color:{colour}'>{request.counts_text()}</span>"
        )
        self.typed = widgets.Text(placeholder=f"type {request.type_to_confirm}") if request.type_to_confirm else None
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

    def show(self) -> None:
        from IPython.display import display

        display(self.box)

    def _name_typed(self) -> bool:
        return self.typed is None or self.typed.value.strip() == self.request.type_to_confirm

    def _on_typed(self, _change: dict[str, Any]) -> None:
        self.go.disabled = not self._name_typed()

    def _on_go(self, _button: Any) -> None:
        if self.decision is None and self._name_typed():
            self.decision = "approved"

    def _on_cancel(self, _button: Any) -> None:
        if self.decision is None:
            self.decision = "cancelled by the operator"

    def close(self, decision: str) -> None:
        self.go.disabled = self.cancel.disabled = True
        if self.typed is not None:
            self.typed.disabled = True
        self.status.value = f"<b>{decision}</b> at {time.strftime('%H:%M:%S')}"


class ShellPump:
    """While a cell blocks: runs the widget messages the kernel receives, keeps all others for afterwards."""

    def __init__(self, kernel: Any, stream: Any) -> None:
        self.kernel = kernel
        self.stream = stream
        self.received: list[list[Any]] = []
        self.held: list[list[Any]] = []
        self.original: Callable[[list[Any]], Any] | None = None
        self.cell_parent: tuple[Any, Any] = (None, None)

    def __enter__(self) -> ShellPump:
        self.original = self.stream._recv_callback
        self.cell_parent = (self.kernel._parent_ident["shell"], self.kernel.get_parent("shell"))
        self.stream.on_recv(self.received.append, copy=False)
        return self

    def dispatch_pending(self) -> None:
        import zmq

        self.stream.flush(zmq.POLLIN)
        while self.received:
            frames = self.received.pop(0)
            if self._message_type(frames) in COMM_MESSAGES:
                self._dispatch(frames)
            else:
                self.held.append(frames)

    def __exit__(self, *_exc: object) -> None:
        self.dispatch_pending()
        assert self.original is not None
        self.stream.on_recv(self.original, copy=False)
        for frames in self.held:
            # Scheduled now, they reach the kernel's queue before anything it reads later: order is kept.
            asyncio.ensure_future(self.original(frames))
        self.held = []

    def _message_type(self, frames: list[Any]) -> str:
        """Peeks at the header only: a full read would record the signature and make the kernel refuse the
        message as a replay when it is handed back."""
        session = self.kernel.session
        try:
            _, body = session.feed_identities(list(frames), copy=False)
            return str(session.deserialize(body, content=False, copy=False)["header"]["msg_type"])
        except (ValueError, TypeError, KeyError):
            return ""

    def _dispatch(self, frames: list[Any]) -> None:
        session = self.kernel.session
        idents, body = session.feed_identities(list(frames), copy=False)
        message = session.deserialize(body, content=True, copy=False)
        handler = self.kernel.shell_handlers.get(message["header"]["msg_type"])
        self.kernel.set_parent(idents, message, channel="shell")
        try:
            handler(self.stream, idents, message)
        finally:
            self.kernel.set_parent(*self.cell_parent, channel="shell")
