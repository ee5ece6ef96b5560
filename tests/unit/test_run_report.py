"""The run's HTML: an executed notebook as a self-contained page, and the index page, both from templates
compiled once per runner process (the exporter and the index template are prepared while the stages run).

The notebook here is written the way papermill leaves an executed stage: a stream output with Terraform's
lines, the stage's Report as an execute_result (its "$" amounts are money), and a chart as an inline image."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat

from aipx_runbook import run_report
from aipx_runbook.results import Report, Table
from aipx_runbook.run_result import RunResult, StageOutcome

CHART = '<img alt="cost per component per environment" src="data:image/png;base64,iVBORw0KGgo="/>'


def _executed(path: Path) -> Path:
    report = Report(
        "terraform plan (dev, smoke)",
        "changed",
        "planned $198.87/month, 2 to add",
        tables=[Table(["resource", "action"], [["aws_s3_bucket.data", "create"]])],
        figures=[CHART],
    )
    cells = [
        nbformat.v4.new_markdown_cell("# 03 · terraform plan\n\nReview the **saved plan**."),
        nbformat.v4.new_code_cell(
            "stages.plan(ctx, exclude=exclude)",
            execution_count=1,
            outputs=[
                nbformat.v4.new_output("stream", name="stdout", text="[   0.4s] Plan: 2 to add, 0 to change\n"),
                nbformat.v4.new_output(
                    "execute_result", {"text/html": report._repr_html_(), "text/plain": str(report)}, execution_count=1
                ),
            ],
        ),
    ]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
    nbformat.write(notebook, path)
    return path


def test_an_executed_notebook_becomes_a_readable_self_contained_page(tmp_path: Path) -> None:
    page = run_report.render_notebook(_executed(tmp_path / "03_plan.ipynb")).read_text()
    assert (tmp_path / "03_plan.html").exists()
    assert "Plan: 2 to add, 0 to change" in page, "Terraform's streamed lines"
    assert "planned $198.87/month, 2 to add" in page and "aws_s3_bucket.data" in page, "the Report, money as money"
    assert 'alt="cost per component per environment"' in page and "Review the <strong>saved plan</strong>" in page
    assert "mathjax" not in page.lower().replace("tex2jax_ignore mathjax_ignore", ""), "no MathJax"
    assert "cdnjs" not in page and "<script src=" not in page, "nothing loaded from a CDN"
    assert "jp-Notebook" in page and "--jp-" in page, "JupyterLab's look, its CSS inlined"


def test_the_page_is_nbconverts_own_without_parsing_it_again(tmp_path: Path, monkeypatch) -> None:
    """The same page as nbconvert's HTMLExporter writes (once both are normalized by BeautifulSoup): focus on every
    input and output, an alt text on an image without one; but rendered without BeautifulSoup's second parse."""
    from bs4 import BeautifulSoup
    from nbconvert import HTMLExporter

    path = _executed(tmp_path / "03_plan.ipynb")
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_markdown_cell("<img src='data:image/png;base64,iVBORw0KGgo='/> no alt"))
    theirs, _ = HTMLExporter(
        extra_template_basedirs=[str(run_report.TEMPLATES / "nbconvert")], template_name=run_report.NOTEBOOK_TEMPLATE
    ).from_notebook_node(notebook)
    assert 'alt="No description has been provided for this image"' in theirs and 'tabindex="0"' in theirs

    def no_second_parse(*_args, **_kwargs):
        raise AssertionError("the rendered page was parsed again")

    monkeypatch.setattr("nbconvert.exporters.html.BeautifulSoup", no_second_parse)
    ours, _ = run_report.notebook_exporter().from_notebook_node(notebook)
    assert str(BeautifulSoup(ours, features="html.parser")) == theirs


def test_the_exporter_and_the_index_template_are_built_once_and_each_page_holds_its_own_data(tmp_path: Path) -> None:
    assert run_report.notebook_exporter() is run_report.notebook_exporter()
    assert run_report.index_template() is run_report.index_template()
    pages = []
    for environment, status in (("dev", "passed"), ("staging", "failed")):
        run_dir = tmp_path / environment
        (run_dir / "stages").mkdir(parents=True)
        (run_dir / "stages" / "plan.json").write_text(
            json.dumps({"stage": "plan", "status": "ok", "facts": {"plan_sha256": f"{environment}-sha"}})
        )
        outcome = StageOutcome("03", "plan", "03_plan.ipynb", status, 1.5, summary="2 to add", error="it broke")
        pages.append(run_report.write_index(RunResult(environment, "local", "smoke", run_dir, [outcome])).read_text())
    assert "dev: passed" in pages[0] and "<dt>plan SHA-256</dt><dd>dev-sha</dd>" in pages[0]
    assert "staging: failed" in pages[1] and "staging-sha" in pages[1] and "dev-sha" not in pages[1]
