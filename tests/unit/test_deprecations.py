"""Terraform 1.11's dynamodb_table warning is explained once (stage 02) and left out of streamed output."""

from __future__ import annotations

from aipx_runbook import deprecations

# Terraform 1.11.4's apply output with -no-color, as the runner streams it (recorded from a real apply: no blank
# line after the warning's sentence).
APPLY = """
Warning: Deprecated Parameter

The parameter "dynamodb_table" is deprecated. Use parameter "use_lockfile"
instead.
aws_s3_bucket.state: Importing... [id=aipx-terraform-state]

Warning: Argument is deprecated

with aws_s3_bucket.x,
  on main.tf line 3:

Apply complete! Resources: 2 imported, 0 added, 0 changed, 0 destroyed.
"""


def _shown(text: str) -> str:
    stream = deprecations.StreamFilter()
    lines = [kept for line in text.splitlines(keepends=True) for kept in stream.feed(line)]
    return "".join(lines + stream.flush())


def test_the_dynamodb_table_warning_is_left_out_and_every_other_line_kept() -> None:
    shown = _shown(APPLY)
    assert "dynamodb_table" not in shown and "Deprecated Parameter" not in shown and "instead." not in shown
    assert "Warning: Argument is deprecated\n\nwith aws_s3_bucket.x,\n  on main.tf line 3:" in shown
    assert "Importing..." in shown and "Apply complete!" in shown


def test_a_warning_title_at_the_end_is_not_lost() -> None:
    assert _shown("done\nWarning: Deprecated Parameter\n") == "done\nWarning: Deprecated Parameter\n"


def test_the_explanation_names_the_way_over() -> None:
    text = deprecations.explanation("dev")
    assert 'locking = "both" in environments/dev/runbook.toml' in text and "lockfile" in text


def test_a_blank_line_after_the_warning_is_left_out_too_and_nothing_else() -> None:
    text = APPLY.replace("instead.\n", "instead.\n\n")
    assert _shown(text) == _shown(APPLY)
    assert _shown(APPLY).startswith("\naws_s3_bucket.state: Importing...")
