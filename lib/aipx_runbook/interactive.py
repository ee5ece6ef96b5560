"""Is a person at the keyboard? Decides whether a confirmation may be asked and a secret shown."""

from __future__ import annotations

import os


def is_interactive() -> bool:
    """True only in a notebook frontend that lets the kernel ask for input (JupyterLab, Notebook).

    papermill (nbclient) and nbval execute cells with ``allow_stdin=False``; a frontend with a person
    sends ``allow_stdin=True``. ipykernel keeps that flag of the running request in ``_allow_stdin``.
    ``AIPX_HEADLESS=1`` forces headless, for terminals and CI jobs that cannot be detected.
    """
    if os.environ.get("AIPX_HEADLESS", "") not in ("", "0"):
        return False
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    kernel = getattr(shell, "kernel", None)
    return bool(getattr(kernel, "_allow_stdin", False))
