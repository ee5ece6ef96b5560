"""The one AWS error helper: code, message and status read from botocore's own errors, and the operator's error."""

from __future__ import annotations

from botocore.exceptions import ClientError, EndpointConnectionError

from aipx_runbook import aws_errors


def _error(code: str, message: str = "", status: int = 400) -> ClientError:
    response = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, "GetObject")  # type: ignore[arg-type]


def test_code_message_and_status_come_from_the_answer() -> None:
    error = _error("NoSuchKey", "The specified key does not exist.", 404)
    assert aws_errors.code(error) == "NoSuchKey"
    assert aws_errors.message(error) == "The specified key does not exist."
    assert aws_errors.http_status(error) == 404
    assert aws_errors.answered(error) == "NoSuchKey: The specified key does not exist."


def test_an_error_without_an_answer_has_no_code() -> None:
    error = EndpointConnectionError(endpoint_url="http://127.0.0.1:1")
    assert (aws_errors.code(error), aws_errors.message(error), aws_errors.http_status(error)) == ("", "", 0)
    assert aws_errors.answered(_error("Throttling")) == "Throttling"


def test_aws_errors_become_runbook_errors_with_the_hint() -> None:
    error = _error("ExpiredToken", "The security token included in the request is expired")
    failure = aws_errors.failure("check the state bucket", error, "the default")
    assert failure.what == "check the state bucket"
    assert failure.why == "the AWS credentials have expired" and "aws sso login" in failure.fix
    assert "ExpiredToken" in failure.details


def test_an_error_no_hint_knows_keeps_the_default_fix() -> None:
    failure = aws_errors.failure("read the lock table", _error("Weird", "odd"), "the default")
    assert failure.fix == "the default" and "Weird" in failure.details
