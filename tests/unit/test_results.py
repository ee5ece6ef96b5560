from aipx_runbook.errors import RunbookError
from aipx_runbook.results import Report, Table


def test_report_renders_text_and_html() -> None:
    report = Report(
        "Checks", "fail", "1 of 2 passed", tables=[Table(["check", "status"], [["a", "ok"], ["b", "fail"]])]
    )
    text = str(report)
    assert text.splitlines()[0] == "[fail] Checks"
    assert "check  status" in text
    html = report._repr_html_()
    assert "<table>" in html and "✘ fail" in html and "1 of 2 passed" in html


def test_html_escapes_values() -> None:
    html = Report("x", tables=[Table(["v"], [["<script>"]])])._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_error_renders_what_why_fix_instead_of_a_traceback() -> None:
    error = RunbookError("apply the plan", "not approved", "pass auto_approve=True")
    assert str(error) == "apply the plan: not approved"
    assert error._render_traceback_() == [
        "RunbookError: FAILED  apply the plan\nwhy:    not approved\nfix:    pass auto_approve=True"
    ]


def test_html_is_left_aligned_shows_code_and_is_no_mathjax_input() -> None:
    report = Report(
        "Cost",
        summary="planned $198.87/month, +$198.87 against the current $0.00",
        tables=[Table(["check", "how to fix"], [["Terraform", "run `make terraform`, then rerun"]])],
    )
    page = report._repr_html_()
    assert page.startswith("<div class='tex2jax_ignore mathjax_ignore'"), "MathJax leaves the $ amounts alone"
    assert "planned $198.87/month, +$198.87 against the current $0.00" in page
    assert '<td style="text-align:left;vertical-align:top">run <code>make terraform</code>, then rerun</td>' in page
    assert "`" not in page
    assert "run `make terraform`, then rerun" in str(report), "text output keeps the backticks"
