"""What an AWS API error says, read in one place: its code, message and HTTP status, and the RunbookError an
operator reads for it (the hint's meaning and fix, the AWS message as details).

botocore is not imported here: the helpers read the error's ``response`` dictionary, so a module that only
names errors never pays for botocore's import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import RunbookError

if TYPE_CHECKING:
    from botocore.exceptions import BotoCoreError, ClientError


def _response(error: BaseException) -> dict[str, Any]:
    response = getattr(error, "response", None)
    return response if isinstance(response, dict) else {}


def code(error: BaseException) -> str:
    """The error code AWS answered (``NoSuchKey``, ``ResourceNotFoundException``, ``404``...); '' if none."""
    return str(_response(error).get("Error", {}).get("Code", ""))


def message(error: BaseException) -> str:
    """The message AWS answered with the code; '' if none."""
    return str(_response(error).get("Error", {}).get("Message", ""))


def http_status(error: BaseException) -> int:
    """The HTTP status of AWS's answer (0 when there was no answer)."""
    return int(_response(error).get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


def answered(error: BaseException) -> str:
    """``Code: message`` as AWS answered it, for a table cell or a why."""
    text = message(error)
    return f"{code(error)}: {text}" if text else code(error)


def failure(what: str, error: ClientError | BotoCoreError, default_fix: str) -> RunbookError:
    """A boto3 failure as a RunbookError: what failed, the hint's meaning and fix (or the error's first line and
    ``default_fix``), and the AWS message as details."""
    from . import hints

    why, fix = hints.fix_for(str(error), default_fix)
    return RunbookError(what, why, fix, details=str(error))
