"""One JupyterLab server and one Chromium for the browser tests, in a workspace of their own; skipped, saying why,
when this machine has no Chromium or no Playwright."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ui_lab import CHROMIUM_ARGS, JupyterLab, chromium_path, why_no_browser


@dataclass
class Ui:
    lab: JupyterLab
    browser: Any
    shots: Path


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ui]:
    reason = why_no_browser()
    if reason:
        pytest.skip(f"browser tests skipped: {reason}")
    from playwright.sync_api import sync_playwright

    workspace = tmp_path_factory.mktemp("jupyterlab-workspace")
    shots = Path(os.environ.get("AIPX_UI_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    lab = JupyterLab(workspace)
    lab.start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
            try:
                yield Ui(lab, browser, shots)
            finally:
                browser.close()
    finally:
        lab.stop()
        lab.python("from aipx_runbook import emulator\nemulator.stop()")
        print(f"\nbrowser screenshots: {shots}")
