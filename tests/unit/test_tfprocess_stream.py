"""A Terraform process's streamed output: every line shown, stamped, in one write and one flush per poll.

In a kernel each flush waits for the kernel's I/O thread and becomes one message, which the executed notebook
keeps as one output: a flush per line made a plan of the AIPX stack thousands of outputs (slow to send, to save
and to render as HTML). Run with the real Terraform binary (`terraform -help` needs no stack and no account).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from aipx_runbook import tfprocess

STAMP = re.compile(r"^\[ *\d+\.\d+s\] ", re.MULTILINE)


class Recorder:
    """Stands in for the kernel's stdout: what was written, and the writes each flush sent."""

    def __init__(self) -> None:
        self.pending: list[str] = []
        self.sent: list[str] = []

    def write(self, text: str) -> int:
        self.pending.append(text)
        return len(text)

    def flush(self) -> None:
        if self.pending:
            self.sent.append("".join(self.pending))
            self.pending = []


def _stream(argv: list[str], cwd: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[tfprocess.Finished, Recorder]:
    recorder = Recorder()
    monkeypatch.setattr(sys, "stdout", recorder)
    finished = tfprocess.TerraformProcess("help", cwd).run(argv, cwd, {"PATH": "/usr/bin:/bin"}, stream=True)
    monkeypatch.undo()
    return finished, recorder


def test_streamed_lines_are_all_shown_stamped_and_sent_a_poll_at_a_time(
    workspace: Path, terraform_bin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    finished, recorder = _stream([terraform_bin, "-help"], tmp_path, monkeypatch)
    lines = finished.stdout.splitlines()
    assert len(lines) > 20 and "Usage: terraform" in finished.stdout
    assert not recorder.pending, "everything written was flushed"
    shown = "".join(recorder.sent)
    assert all(STAMP.match(line) for line in shown.splitlines())
    assert STAMP.sub("", shown) == finished.stdout, "every line shown, in order, as Terraform wrote it"
    # Terraform writes its help at once: it reaches the notebook in a poll or two, not a message per line.
    assert len(recorder.sent) < len(lines) / 4


def test_the_dynamodb_table_warning_is_left_out_of_a_batch(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Terraform 1.11.4's apply output, recorded (tests/unit/test_deprecations.py), printed by a stand-in process:
    # making a real Terraform print this warning needs a backend (the init and apply tests do that).
    from test_deprecations import APPLY

    finished, recorder = _stream([sys.executable, "-c", f"print({APPLY!r}, end='')"], tmp_path, monkeypatch)
    shown = STAMP.sub("", "".join(recorder.sent))
    assert finished.stdout == APPLY, "the command's own output is kept whole"
    assert "dynamodb_table" not in shown and "instead." not in shown
    assert "aws_s3_bucket.state: Importing..." in shown and shown.endswith(
        "Apply complete! Resources: 2 imported, 0 added, 0 changed, 0 destroyed.\n"
    )
