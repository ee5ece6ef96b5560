"""While a cell blocks for a decision, answer the page the way ipykernel would, and keep every cell for later.

A cell that waits for a click still has to receive the click: ipykernel runs shell messages one after the other,
so the widget messages sent by the page queue up behind the waiting cell. The pump takes the main shell's message
stream over while the cell waits, and hands the messages the page needs for talking to widgets and for
(re)connecting to ipykernel's own ``dispatch_shell``, which does what it does for any message: "busy" status,
the handler (a reply where the message asks for one), "idle" status. The page depends on that status: ipywidgets
sends the next update of a text field only once the kernel reported idle for the previous one, and a reloaded
JupyterLab sends nothing before its ``kernel_info_request`` is answered. Everything else (the next cells of a
"Run All", completions) is held and handed back to the kernel, in order, once the decision is made.

Own code rather than ``jupyter-ui-poll``: its release 1.1.0 relies on ``kernel.do_one_iteration``, which
ipykernel 7 no longer has. This module relies on ipykernel 7's ``get_shell_stream`` and ``dispatch_shell``, hence
the ``ipykernel>=7,<8`` pin in pyproject.toml; kernels without them get a typed prompt instead (approval.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

# Messages the page must get answers to while a cell waits: widget traffic and (re)connecting.
DISPATCHED = frozenset({"comm_open", "comm_msg", "comm_close", "comm_info_request", "kernel_info_request"})
log = logging.getLogger(__name__)


def main_shell_stream(kernel: Any) -> Any:
    """The stream carrying the main shell's requests (ipykernel 7), or None when the kernel cannot be pumped."""
    try:
        from ipykernel.eventloops import get_shell_stream
    except ImportError:
        return None
    if not hasattr(kernel, "dispatch_shell"):
        return None
    stream = get_shell_stream(kernel)
    return stream if hasattr(stream, "_recv_callback") and hasattr(stream, "on_recv") else None


class ShellPump:
    """Takes the main shell stream over for the duration of a ``with`` block; call ``dispatch_pending`` often."""

    def __init__(self, kernel: Any, stream: Any) -> None:
        self.kernel = kernel
        self.stream = stream
        self.received: list[list[Any]] = []
        self.held: list[list[Any]] = []
        self.original: Callable[[list[Any]], Any] | None = None
        self.cell_parent: tuple[Any, Any] = (None, None)
        self.dispatched: list[str] = []

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
            message_type = self._message_type(frames)
            if message_type in DISPATCHED:
                self._dispatch(frames)
                self.dispatched.append(message_type)
            else:
                self.held.append(frames)

    def __exit__(self, *_exc: object) -> None:
        try:
            self.dispatch_pending()
        finally:
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
        try:
            _run_now(self.kernel.dispatch_shell(list(frames)))
        finally:
            # Back to the waiting cell: its outputs and its "busy" (the page shows the kernel busy again).
            self.kernel.set_parent(*self.cell_parent, channel="shell")
            self.kernel._publish_status("busy", "shell", parent=self.cell_parent[1])


def _run_now(coroutine: Coroutine[Any, Any, Any]) -> None:
    """Runs ``dispatch_shell`` to its end here: the event loop is blocked by the waiting cell, and the handlers
    dispatched (comm, kernel_info, comm_info) never wait for anything, so it ends in one step."""
    try:
        coroutine.send(None)
    except StopIteration:
        return
    coroutine.close()
    log.warning("a shell message handler waited for the event loop while a cell waits for approval; skipped")
