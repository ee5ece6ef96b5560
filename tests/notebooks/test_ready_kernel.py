"""A stage notebook runs on the kernel client the pool made ready (notebook_engine.py): nbclient does not wait for
the kernel a second time, and nothing the first cells print is lost for it.

jupyter_client's ``wait_for_ready`` ends with 0.2 s of silence on IOPub; nbclient calls it for every kernel it
is handed, so the runner paid it once in the pool and once in papermill, per stage. The pool's own readiness
check ends on the kernel's "idle" for its request instead, which also proves IOPub is connected: the probe's
cells print at once and every line must be in the executed notebook. The control runs plain papermill on the
same kernel and shows the count can fail.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import papermill
import pytest
from jupyter_client.asynchronous import AsyncKernelClient

from aipx_runbook import kernels
from aipx_runbook.notebook_engine import ENGINE

pytestmark = pytest.mark.notebooks
LINES = 3


@pytest.fixture
def waits(monkeypatch) -> list[int]:
    """Each wait_for_ready that jupyter_client runs (nbclient's way to wait for a kernel it was handed)."""
    counted: list[int] = []
    original = AsyncKernelClient.wait_for_ready  # the pool's kernels are asynchronous ones, as nbclient's

    async def counting(self, timeout=None) -> None:
        counted.append(1)
        await original(self, timeout=timeout)

    monkeypatch.setattr(AsyncKernelClient, "wait_for_ready", counting)
    return counted


def _probe(tmp_path: Path) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(f"print('line {n}')") for n in range(LINES)]
    source = tmp_path / "probe.ipynb"
    nbformat.write(notebook, source)
    return source


def _printed(output: Path) -> list[str]:
    executed = nbformat.read(output, as_version=4)
    return ["".join(o.get("text", "")) for cell in executed.cells for o in cell.outputs]


def test_the_stage_runs_on_the_pools_ready_client_and_keeps_every_output(tmp_path, waits) -> None:
    source, output = _probe(tmp_path), tmp_path / "out.ipynb"
    with kernels.KernelPool(tmp_path, ["probe"], ahead=0) as pool:
        kernel = pool.take()
        papermill.execute_notebook(
            str(source),
            str(output),
            progress_bar=False,
            kernel_name=kernels.KERNEL_NAME,
            km=kernel,
            engine_name=ENGINE,
            ready_client=pool.client(kernel),
        )
        pool.release(kernel)
    assert waits == []
    assert _printed(output) == [f"line {n}\n" for n in range(LINES)]


def test_papermill_on_the_same_kernel_waits_for_it_again(tmp_path, waits) -> None:
    source, output = _probe(tmp_path), tmp_path / "out.ipynb"
    with kernels.KernelPool(tmp_path, ["probe"], ahead=0) as pool:
        kernel = pool.take()
        papermill.execute_notebook(
            str(source), str(output), progress_bar=False, kernel_name=kernels.KERNEL_NAME, km=kernel
        )
        pool.release(kernel)
    assert waits != []
    assert _printed(output) == [f"line {n}\n" for n in range(LINES)]


def test_only_code_cells_write_the_notebook_and_markdown_cells_keep_their_record(tmp_path, monkeypatch) -> None:
    """papermill writes the whole notebook as each cell starts and ends; the engine skips the markdown cells'
    writes (their timestamps go out with the next write) and keeps both writes of every code cell."""
    import papermill.engines

    writes: list[str] = []
    original = papermill.engines.write_ipynb

    def counted(nb, path):
        writes.append(path)
        original(nb, path)

    monkeypatch.setattr(papermill.engines, "write_ipynb", counted)
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        cell
        for n in range(2)
        for cell in (nbformat.v4.new_markdown_cell(f"# part {n}"), nbformat.v4.new_code_cell(f"print({n})"))
    ]
    source, output = tmp_path / "probe.ipynb", tmp_path / "out.ipynb"
    nbformat.write(notebook, source)
    counts = {}
    for engine in (None, ENGINE):  # ours last: its notebook is the one read below
        writes.clear()
        papermill.execute_notebook(
            str(source), str(output), progress_bar=False, kernel_name=kernels.KERNEL_NAME, engine_name=engine
        )
        counts[engine] = len(writes)
    # start and end of the run, and two per code cell; papermill also writes two per markdown cell
    assert counts == {ENGINE: 2 + 2 * 2, None: 2 + 2 * 4}
    executed = nbformat.read(output, as_version=4)
    assert [cell.metadata.papermill["status"] for cell in executed.cells] == ["completed"] * 4
