"""An operator's hands on one JupyterLab notebook tab: open, edit the parameters cell, Run All, read, click, type."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from ui_lab import JupyterLab

PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"
PROMPTS = f"{PANEL} .jp-CodeCell .jp-InputArea-prompt"
ELAPSED = re.compile(r"^\[\s*\d+\.\ds\] ", re.MULTILINE)
WIDGET_ERROR = "Error displaying widget"


class NotebookPage:
    """One notebook in its own tab (and its own JupyterLab workspace, so no other tab is restored beside it)."""

    def __init__(self, browser: Any, lab: JupyterLab, notebook: str, shots: Path) -> None:
        self.lab, self.notebook, self.shots = lab, notebook, shots
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})
        self.step = 0
        self.open()

    def open(self) -> None:
        workspace = f"w{time.monotonic_ns()}"
        self.page.goto(
            f"{self.lab.url}/lab/workspaces/{workspace}/tree/notebooks/{self.notebook}?token={self.lab.token}"
        )
        self.wait_kernel("idle")
        # JupyterLab may start a second kernel for a notebook opened by URL and drop the first a moment later:
        # wait until one kernel is left for it before running anything.
        deadline = time.monotonic() + 60
        while len(self.lab.sessions_for(self.notebook)) != 1 and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(2)
        self.wait_kernel("idle")

    def wait_kernel(self, status: str, timeout: float = 90) -> None:
        self.page.wait_for_selector(f".jp-Notebook-ExecutionIndicator[data-status='{status}']", timeout=timeout * 1000)

    def kernel_status(self) -> str:
        return self.page.locator(".jp-Notebook-ExecutionIndicator").first.get_attribute("data-status") or ""

    def shot(self, what: str) -> None:
        self.step += 1
        taken = len(list(self.shots.glob("*.png"))) + 1  # numbered across pages: nothing is overwritten
        name = f"{taken:03d}-{self.notebook.removesuffix('.ipynb')}-{self.step:02d}-{what}.png"
        self.page.screenshot(path=str(self.shots / name), full_page=True)

    def prompts(self) -> list[str]:
        return self.page.eval_on_selector_all(PROMPTS, "els => els.map(e => e.textContent.trim())")

    def menu(self, menu: str, item: str) -> None:
        self.page.locator(".lm-MenuBar-itemLabel").get_by_text(menu, exact=True).click()
        self.page.locator(".lm-Menu-itemLabel").get_by_text(item, exact=True).click()

    def run_all(self) -> None:
        """Run → Run All Cells; again if the request was lost with a kernel JupyterLab replaced."""
        for _ in range(3):
            before = self._counts()
            self.menu("Run", "Run All Cells")
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if "[*]:" in self.prompts() or self._counts() - before:
                    return
                time.sleep(0.2)
        raise AssertionError(f"Run All Cells did not start in {self.notebook}")

    def _counts(self) -> set[str]:
        return {p for p in self.prompts() if re.fullmatch(r"\[\d+\]:", p)}

    def wait_done(self, timeout: float = 300) -> None:
        """Until no cell is running or queued."""
        self.page.wait_for_function(
            "selector => [...document.querySelectorAll(selector)].every(e => !e.textContent.includes('*'))",
            arg=PROMPTS,
            timeout=timeout * 1000,
        )
        self.wait_kernel("idle")

    def cell_output(self, source_part: str) -> Any:
        """The output area of the code cell whose source contains ``source_part``."""
        cell = self.page.locator(f"{PANEL} .jp-CodeCell").filter(
            has=self.page.locator(".cm-content", has_text=source_part)
        )
        return cell.first.locator(".jp-OutputArea")

    def text(self) -> str:
        return self.page.inner_text(f"{PANEL} .jp-Notebook")

    def set_parameter(self, name: str, value: str) -> None:
        """Edits the parameters cell as an operator does: the line ``name = ...`` becomes ``name = value``."""
        editor = self.page.locator(f"{PANEL} .jp-CodeCell .cm-content").filter(has_text=f"{name} = ").first
        line = editor.locator(".cm-line").filter(has_text=re.compile(rf"^{name} = ")).first
        line.click()
        self.page.keyboard.press("End")
        self.page.keyboard.press("Shift+Home")
        self.page.keyboard.insert_text(f"{name} = {value}")
        self.page.keyboard.press("Escape")

    def add_cell_at_end(self, code: str) -> None:
        """A scratch cell below the last one, as operators add them: select the last cell, B, type."""
        self.page.locator(f"{PANEL} .jp-CodeCell .cm-content").last.click()
        self.page.keyboard.press("Escape")
        self.page.keyboard.press("b")
        self.page.keyboard.press("Enter")
        self.page.keyboard.insert_text(code)
        self.page.keyboard.press("Escape")

    def save(self) -> None:
        """File → Save Notebook, until the server holds the new version."""
        path = f"/api/contents/notebooks/{self.notebook}?content=0"
        before = self.lab.api("GET", path)["last_modified"]  # type: ignore[index]
        self.menu("File", "Save Notebook")
        deadline = time.monotonic() + 30
        while self.lab.api("GET", path)["last_modified"] == before:  # type: ignore[index]
            assert time.monotonic() < deadline, f"{self.notebook} was not saved"
            time.sleep(0.3)

    def assert_no_widget_error(self) -> None:
        assert WIDGET_ERROR not in self.text(), f"{self.notebook}: {WIDGET_ERROR}"

    def close(self) -> None:
        self.page.close()
