"""HCL files (.tf, .tfvars) parsed with python-hcl2, a syntax error named by file, line and column."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import RunbookError


def load_hcl(path: Path, text: str | None = None) -> dict[str, Any]:
    """``path`` parsed, or ``text`` (read from ``path`` already) as the content of ``path``."""
    import hcl2  # here: its Lark grammar loads in a tenth of a second, and most processes never parse HCL

    try:
        if text is not None:
            return hcl2.loads(text)
        with path.open() as handle:
            return hcl2.load(handle)
    except Exception as error:  # lark raises several unrelated exception types for a syntax error
        line, column = getattr(error, "line", None), getattr(error, "column", None)
        where = f"{path} line {line}, column {column}" if line else str(path)
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise RunbookError(
            f"read {path.name}",
            f"{where} is not valid HCL: {first}",
            f"fix the syntax at {path}:{line or 1} (`terraform fmt -check -diff {path}` shows it too)",
        ) from None
