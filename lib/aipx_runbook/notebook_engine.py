"""papermill's nbclient engine, executing a stage notebook on a kernel client the runner's pool made ready.

nbclient waits for any kernel it is handed with jupyter_client's ``wait_for_ready``, which always ends with
0.2 s of silence on IOPub; the pool (kernels.py) already knows its kernel answers, so that wait is paid for
nothing once per stage. This engine gives nbclient the pool's connected client instead of letting it make and
wait for its own. And papermill writes the whole notebook as every cell starts and ends, markdown cells
included (about half of a stage's writes, each a validation and a file write on the stage's path); here a
markdown cell's start and end are kept in memory and written with the next code cell's write. A code cell keeps
both writes: a run stopped mid-cell leaves a notebook showing which cell ran.
Everything else is papermill's: the parameters cell, the executed notebook, ``PapermillExecutionError`` on a
failing cell. Registered with papermill as ``ENGINE``; the runner names it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from nbclient.util import run_hook, run_sync
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines
from papermill.utils import merge_kwargs, remove_args
from traitlets import Any as AnyTrait

ENGINE = "aipx-ready-kernel"


class ReadyClientNotebookClient(PapermillNotebookClient):
    """papermill's notebook client, on ``ready_client`` when given (connected, answering); else as papermill."""

    ready_client = AnyTrait(None, allow_none=True, help="a started, answering kernel client for km")

    async def async_start_new_kernel_client(self) -> Any:
        if self.ready_client is None:
            return await super().async_start_new_kernel_client()
        self.kc = self.ready_client
        self.kc.allow_stdin = False
        await run_hook(self.on_notebook_start, notebook=self.nb)
        return self.kc

    # nbclient's synchronous setup_kernel (papermill's path) calls this wrapper, bound to nbclient's own method
    start_new_kernel_client = run_sync(async_start_new_kernel_client)


class CodeCellSaves(NotebookExecutionManager):
    """papermill's execution manager, writing the notebook around code cells only."""

    _deferred = False

    def cell_start(self, cell: Any, cell_index: int | None = None, **kwargs: Any) -> None:
        with self._written_if_code(cell):
            super().cell_start(cell, cell_index, **kwargs)

    def cell_complete(self, cell: Any, cell_index: int | None = None, **kwargs: Any) -> None:
        with self._written_if_code(cell):
            super().cell_complete(cell, cell_index, **kwargs)

    @contextlib.contextmanager
    def _written_if_code(self, cell: Any) -> Iterator[None]:
        self._deferred = cell.cell_type != "code"
        try:
            yield
        finally:
            self._deferred = False

    def save(self, **kwargs: Any) -> None:
        if not self._deferred:
            super().save(**kwargs)


class ReadyKernelEngine(NBClientEngine):
    """papermill's ``Engine.execute_notebook`` and ``NBClientEngine.execute_managed_notebook`` with the manager and
    the client above (papermill builds both inline, so the two methods are restated: same arguments, defaults)."""

    @classmethod
    def execute_notebook(
        cls,
        nb: Any,
        kernel_name: str,
        output_path: str | None = None,
        progress_bar: bool = True,
        log_output: bool = False,
        autosave_cell_every: int = 30,
        **kwargs: Any,
    ) -> Any:
        nb_man = CodeCellSaves(
            nb,
            output_path=output_path,
            progress_bar=progress_bar,
            log_output=log_output,
            autosave_cell_every=autosave_cell_every,
        )
        nb_man.notebook_start()
        try:
            cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
        finally:
            nb_man.cleanup_pbar()
            nb_man.notebook_complete()
        return nb_man.nb

    @classmethod
    def execute_managed_notebook(
        cls,
        nb_man: Any,
        kernel_name: str,
        log_output: bool = False,
        stdout_file: Any = None,
        stderr_file: Any = None,
        start_timeout: int = 60,
        execution_timeout: int | None = None,
        **kwargs: Any,
    ) -> Any:
        from papermill.engines import logger

        kwargs = remove_args(["input_path"], **kwargs)
        safe_kwargs = remove_args(["timeout", "startup_timeout"], **kwargs)
        final_kwargs = merge_kwargs(
            safe_kwargs,
            timeout=execution_timeout if execution_timeout else kwargs.get("timeout"),
            startup_timeout=start_timeout,
            kernel_name=kernel_name,
            log=logger,
            log_output=log_output,
            stdout_file=stdout_file,
            stderr_file=stderr_file,
        )
        return ReadyClientNotebookClient(nb_man, **final_kwargs).execute()


papermill_engines.register(ENGINE, ReadyKernelEngine)
