"""An operator steps through the runbook in JupyterLab, in a real Chromium: Run All per notebook, 00 to 06.

Each finding of issue 10 has its check here, in the page as the operator sees it:
1. a name typed key by key enables Destroy only when it is exactly the name (06);
2. a reload while an approval waits brings it back, live, with the kernel shown busy, not "Unknown" (06);
3. the decision stays on record as plain output; a reopened notebook shows no "Error displaying widget" (04, 06);
4. the counts include output changes (04);
5. "$" in cost text stays money: no MathJax in the page (03);
6. init and plan stream Terraform's output with the elapsed time (02, 03);
7. readable tables: left-aligned, code shown as code, the plan grouped by component; fix texts name the parameters
   cell and papermill (00, 03, 06).
The tests run in order on one JupyterLab server and one emulator; screenshots of every step go to the directory
printed at the end (AIPX_UI_SCREENSHOTS sets it).
"""

from __future__ import annotations

import json
import re
import time

import pytest
from notebook_page import ELAPSED, NotebookPage

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
STATE = """
import json
from aipx_runbook.context import open_stage
ctx = open_stage("verify", environment="dev", target="local", stack="smoke")
s3 = ctx.target.client("s3")
listing = s3.list_objects_v2(Bucket=ctx.settings.state_bucket, Prefix=ctx.settings.state_key)
state = {}
if listing.get("Contents"):
    state = json.loads(s3.get_object(Bucket=ctx.settings.state_bucket, Key=ctx.settings.state_key)["Body"].read())
print(json.dumps({"outputs": sorted(state.get("outputs", {})), "resources": len(state.get("resources", []))}))
"""


def _state(ui) -> dict:
    return json.loads(ui.lab.python(STATE))


def _open(ui, notebook: str) -> NotebookPage:
    return NotebookPage(ui.browser, ui.lab, notebook, ui.shots)


def _run_all(page: NotebookPage, timeout: float = 300) -> None:
    page.run_all()
    page.wait_done(timeout)
    if all(prompt == "[ ]:" for prompt in page.prompts()):  # the kernel was replaced under the page: run again
        page.run_all()
        page.wait_done(timeout)
    page.shot("ran")
    page.assert_no_widget_error()


def _left_aligned(page: NotebookPage, selector: str) -> list[str]:
    return page.page.eval_on_selector_all(selector, "els => [...new Set(els.map(e => getComputedStyle(e).textAlign))]")


def test_00_prerequisites_table_is_left_aligned_and_shows_code_as_code(ui) -> None:
    page = _open(ui, "00_prerequisites.ipynb")
    _run_all(page)
    table = ".jp-OutputArea table"
    assert _left_aligned(page, f"{table} td") == ["left"], "names and fixes read from the left"
    fixes = page.page.eval_on_selector_all(
        f"{table} tr", "rows => rows.map(r => [...r.cells].map(c => c.innerText)).filter(c => c.length === 5)"
    )
    assert fixes, "the prerequisites table with its how-to-fix column"
    assert not any("`" in row[4] for row in fixes), "no literal backticks"
    if any(row[4] for row in fixes):
        assert page.page.locator(f"{table} td code").count() > 0, "commands are shown as code"
    page.close()


def test_01_backend(ui) -> None:
    page = _open(ui, "01_backend_setup.ipynb")
    _run_all(page)
    assert "Traceback" not in page.text()
    page.close()


def _init_and_plan(ui, stack: str) -> NotebookPage:
    init = _open(ui, "02_init.ipynb")
    if stack != "smoke":
        init.set_parameter("stack", f'"{stack}"')
    _run_all(init)
    streamed = init.cell_output("stages.init(ctx)").inner_text()
    assert ELAPSED.search(streamed) and "Terraform has been successfully initialized" in streamed, (
        "init streams Terraform's output with the elapsed time"
    )
    init.close()
    plan = _open(ui, "03_plan.ipynb")
    if stack != "smoke":
        plan.set_parameter("stack", f'"{stack}"')
    _run_all(plan)
    assert ELAPSED.search(plan.cell_output("stages.plan(ctx").inner_text()), "plan streams, with elapsed time"
    return plan


# A root module of a few provider-free resources, named as the AIPX stack names its components, so the plan's
# review groups them (network, cache, database) without the AWS provider.
COMPONENTS_STACK = """terraform {
  backend "s3" {}
}
variable "environment" {
  type = string
}
resource "terraform_data" "vpc_flow_logs" {}
resource "terraform_data" "subnet" {
  count = 3
}
resource "terraform_data" "redis_cache" {}
resource "terraform_data" "rds_database" {}
output "environment" {
  value = var.environment
}
"""


def test_02_03_the_plan_is_grouped_by_component_left_aligned_and_streamed(ui) -> None:
    stack = ui.lab.root / "components"
    stack.mkdir()
    (stack / "main.tf").write_text(COMPONENTS_STACK)
    page = _init_and_plan(ui, str(stack))
    review = page.cell_output("stages.plan(ctx")
    assert review.locator("table").first.locator("caption").inner_text().startswith("Changes per component")
    groups = review.locator("details")
    titles = [groups.nth(i).locator("summary").inner_text() for i in range(groups.count())]
    assert titles == ["network: 4 (4 create)", "cache: 1 (1 create)", "database: 1 (1 create)"], titles
    assert all(not groups.nth(i).evaluate("d => d.open") for i in range(groups.count())), "details start closed"
    groups.first.locator("summary").click()
    assert groups.first.locator("td").first.is_visible()
    assert _left_aligned(page, ".jp-OutputArea details td") == ["left"], "names read from the left"
    page.shot("group-opened")
    page.close()


def test_02_03_smoke_plan_cost_keeps_the_dollar(ui) -> None:
    page = _init_and_plan(ui, "smoke")
    text = page.cell_output("stages.cost_of_plan(ctx)").inner_text()
    assert "planned $0.00/month on demand" in text and "against the current $0.00" in text, "money, not TeX"
    assert page.page.locator(".jp-OutputArea mjx-container, .jp-OutputArea .MathJax").count() == 0, "no TeX"
    page.close()


def test_04_the_cell_waits_counts_outputs_and_cancel_changes_nothing(ui) -> None:
    page = _open(ui, "04_apply.ipynb")
    page.add_cell_at_end("print('a later cell', 'ran')")
    assert page.prompts()[-1] == "[ ]:" and "stages.apply(" not in page.page.locator(".jp-CodeCell").last.inner_text()
    page.run_all()
    apply_button = page.page.get_by_role("button", name="Apply", exact=True)
    apply_button.wait_for(timeout=120000)
    page.shot("waiting")
    widget = page.cell_output("stages.apply(ctx")
    assert "0 to add, 0 to change, 0 to destroy; 5 outputs changing" in widget.inner_text(), "counts with outputs"
    time.sleep(2)
    assert page.prompts()[-2:] == ["[*]:", "[*]:"], "the apply cell waits, and the cell after it with it"
    assert "a later cell ran" not in page.text()
    page.page.get_by_role("button", name="Cancel", exact=True).click()
    page.wait_done()
    page.shot("cancelled")
    text = widget.inner_text()
    assert "NOT APPROVED: cancelled by the operator at " in text and "ApprovalRequired" in text
    assert widget.locator(".widget-button").count() == 0, "the widget is replaced by the decision"
    assert _state(ui)["outputs"] == [], "Cancel leaves the state untouched"
    assert "a later cell ran" not in page.text(), "Run All stops at the refused approval"
    page.close()


def test_04_apply_streams_and_the_decision_stays_on_record(ui) -> None:
    page = _open(ui, "04_apply.ipynb")
    page.run_all()
    page.page.get_by_role("button", name="Apply", exact=True).click(timeout=120000)
    page.wait_done()
    page.shot("applied")
    output = page.cell_output("stages.apply(ctx").inner_text()
    assert ELAPSED.search(output) and "Apply complete!" in output, "Terraform's output streamed"
    assert re.search(
        r"APPROVED by click at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\. apply the saved plan for dev "
        r"\(plan sha256 [0-9a-f]{12}\): 0 to add, 0 to change, 0 to destroy; 5 outputs changing",
        output,
    )
    assert "environment" in _state(ui)["outputs"], "applied"
    page.save()
    page.close()
    ui.lab.shutdown_kernels()
    reopened = _open(ui, "04_apply.ipynb")
    time.sleep(3)  # the widget manager gives up on unknown models after its restore
    reopened.shot("reopened")
    reopened.assert_no_widget_error()
    assert "APPROVED by click at" in reopened.cell_output("stages.apply(ctx").inner_text(), "kept in the notebook"
    reopened.close()


def test_05_verify(ui) -> None:
    page = _open(ui, "05_verify_outputs.ipynb")
    _run_all(page)
    assert "Traceback" not in page.text()
    page.close()


def test_06_refusal_names_the_parameters_cell_then_the_typed_name_enables_destroy(ui) -> None:
    page = _open(ui, "06_destroy.ipynb")
    _run_all(page)
    refusal = page.cell_output("stages.destroy(ctx").inner_text()
    assert "set confirm = 'dev' in the parameters cell (papermill: -p confirm dev)" in refusal
    page.set_parameter("confirm", '"dev"')
    page.run_all()
    field = page.page.get_by_placeholder("type dev")
    field.wait_for(timeout=180000)
    destroy = page.page.get_by_role("button", name="Destroy", exact=True)
    assert destroy.is_disabled()
    field.click()
    for key, enabled in (("d", False), ("e", False), ("v", True), ("x", False), ("Backspace", True)):
        page.page.keyboard.press(key, delay=60)
        page.page.wait_for_timeout(300)
        expected = "enabled" if enabled else "disabled"
        try:
            page.page.wait_for_function(
                "([el, want]) => el.disabled === !want", arg=[destroy.element_handle(), enabled], timeout=15000
            )
        except Exception as timeout:  # noqa: BLE001
            page.shot(f"after-{key}")
            raise AssertionError(f"after typing {key!r} Destroy should be {expected}") from timeout
        page.shot(f"typed-{key}")
    pytest.ui_page = page  # the next test reloads this very page


def test_06_a_reload_while_the_approval_waits_brings_it_back(ui) -> None:
    page: NotebookPage = pytest.ui_page
    page.save()
    page.page.reload()
    page.page.wait_for_selector(".jp-Notebook-ExecutionIndicator", timeout=60000)
    destroy = page.page.locator(".widget-button", has_text="Destroy")
    try:
        destroy.wait_for(state="attached", timeout=90000)
    finally:
        page.shot("reloaded")
    destroy.scroll_into_view_if_needed()
    assert page.kernel_status() in ("busy", "idle"), "the page is connected to the kernel again, not 'unknown'"
    assert page.page.get_by_placeholder("type dev").input_value() == "dev"
    assert "Kernel → Interrupt cancels this approval" in page.cell_output("stages.destroy(ctx").inner_text()
    destroy.click()
    page.page.get_by_text("APPROVED by click at").wait_for(timeout=120000)
    page.shot("destroyed-after-reload")
    deadline = time.monotonic() + 120
    while _state(ui)["outputs"] and time.monotonic() < deadline:
        time.sleep(2)
    assert _state(ui) == {"outputs": [], "resources": 0}, "destroyed"
    page.wait_kernel("idle", timeout=120)
    # The operator runs the notebook once more (nothing left to destroy), saves it and opens it another day.
    _run_all(page)
    assert "Nothing to destroy" in page.cell_output("stages.destroy(ctx").inner_text()
    page.save()
    page.close()
    ui.lab.shutdown_kernels()
    reopened = _open(ui, "06_destroy.ipynb")
    time.sleep(3)
    reopened.shot("reopened")
    reopened.assert_no_widget_error()
    reopened.close()
