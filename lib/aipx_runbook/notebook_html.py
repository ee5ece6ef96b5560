"""nbconvert's HTML exporter, less its last pass: the page of an executed notebook as nbconvert writes it.

``HTMLExporter.from_notebook_node`` renders its template, then parses the whole page again with BeautifulSoup
to add three things, and writes it out again: ``tabindex="0"`` on every cell input and output (keyboard focus),
and an alt text on images without one. For a stage's notebook (a plan's output is half a megabyte of HTML) that
parse takes three quarters of the page's time, on the run's critical path once the last stage ended; here the
same three additions are made on the rendered text (our own code for that reason), and
tests/unit/test_run_report.py checks that the page is nbconvert's own once both are normalized.
"""

from __future__ import annotations

import re
from typing import Any

from nbconvert import HTMLExporter
from nbconvert.exporters.templateexporter import TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

# The elements nbconvert's pass selects (".jp-Notebook div.jp-Cell-inputWrapper", "... div.jp-OutputArea-output",
# "img:not([alt])"), as the template writes them: a div's class attribute comes first.
FOCUSABLE = re.compile(
    r'(<div class="(?:[^"]*\s)?(?:jp-Cell-inputWrapper|jp-OutputArea-output)(?:\s[^"]*)?"[^>]*?)(/?>)'
)
IMAGE = re.compile(r"(<img\b(?:(?!\balt=)[^>])*?)(/?>)")
MISSING_ALT = "No description has been provided for this image"


class ReportExporter(HTMLExporter):
    """``HTMLExporter`` with its filters and template, and the BeautifulSoup pass done on the text."""

    def from_notebook_node(  # type: ignore[override]
        self, nb: Any, resources: dict[str, Any] | None = None, **kw: Any
    ) -> tuple[str, dict[str, Any]]:
        # as HTMLExporter.from_notebook_node (nbconvert 7) up to its template's rendering
        langinfo = nb.metadata.get("language_info", {})
        lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
        highlight_code = self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self))
        resources = self._init_resources(resources)
        filter_data_type = WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata, parent=self, resources=resources)
        self.register_filter("highlight_code", highlight_code)
        self.register_filter("filter_data_type", filter_data_type)
        page, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        return finish(page), resources


def finish(page: str) -> str:
    """What nbconvert's BeautifulSoup pass adds: focus on inputs and outputs, alt text where an image has none."""
    page = FOCUSABLE.sub(lambda match: f'{match.group(1)} tabindex="0"{match.group(2)}', page)
    return IMAGE.sub(lambda match: f'{match.group(1)} alt="{MISSING_ALT}"{match.group(2)}', page)
