"""Terraform's warning that the S3 backend's ``dynamodb_table`` is deprecated (Terraform >= 1.11), said once.

The runbook keeps DynamoDB locking by default (``locking = "dynamodb"`` in runbook.toml: the seed's lock table,
which every Terraform version a team may still run understands), so Terraform would repeat the same warning in
the output of every command. Stage 02 explains it once, with the way over to S3-native locking; the streamed
output of later commands leaves that one warning block out (any other warning is shown as Terraform wrote it).
"""

from __future__ import annotations

TITLE = "Warning: Deprecated Parameter"
MARKER = 'The parameter "dynamodb_table" is deprecated'


def explanation(environment: str) -> str:
    return (
        'Terraform >= 1.11 warns that the S3 backend\'s "dynamodb_table" is deprecated: the runbook keeps the DynamoDB '
        "lock table by default (every Terraform version understands it) and shows this warning only here. To move to "
        f'S3-native locking, set locking = "both" in environments/{environment}/runbook.toml, run stages 01 and 02, '
        'and switch to "lockfile" once everyone runs Terraform >= 1.10'
    )


class StreamFilter:
    """Feed it Terraform's output line by line: it returns the lines to show, without the dynamodb_table warning.

    The warning is its title, a blank line, and the sentence ``The parameter "dynamodb_table" is deprecated. Use
    parameter "use_lockfile"`` / ``instead.``, which a blank line may or may not follow (apply prints the next
    resource line right after it). Only those lines are left out.
    """

    def __init__(self) -> None:
        self._held: list[str] = []
        self._after: list[str] = []  # what may still follow the warning's first sentence line

    def feed(self, line: str) -> list[str]:
        text = line.strip()
        if self._after:
            expected = self._after.pop(0)
            if text == expected:
                return []
            self._after = []
        if self._held:
            self._held.append(line)
            if not text and len(self._held) == 2:
                return []
            held, self._held = self._held, []
            if MARKER in text:
                self._after = ["instead.", ""]
                return []
            return held
        if text == TITLE:
            self._held = [line]
            return []
        return [line]

    def flush(self) -> list[str]:
        held, self._held = self._held, []
        return held
