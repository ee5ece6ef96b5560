"""papermill's nbclient engine, executing a stage notebook on a kernel client the runner's pool made ready.

nbclient waits for any kernel it is handed with jupyter_client's ``wait_for_ready``, which always ends with
0.2 s of silence on IOPub; the pool (kernels.py) already knows its kernel answers, so that wait is paid for
nothing once per stage. This engine gives nbclient the pool's connected client instead of letting it make and
wait for its own. Everything else is papermill's: the parameters cell, one save per cell, the executed notebook,
``PapermillExecutionError`` on a failing cell. Registered with papermill as ``ENGINE``; the runner names it.
"""

from __future__ import annotations

from typing import Any

from nbclient.util import run_hook, run_sync
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
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


class ReadyKernelEngine(NBClientEngine):
    """``NBClientEngine.execute_managed_notebook`` with the client above (papermill builds its client inline,
    so the method is restated: same arguments, same defaults)."""

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
