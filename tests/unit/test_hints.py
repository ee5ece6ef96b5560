"""Each hint against real error text: tests/data/errors/<hint>[.<variant>].txt, first line says where it came from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aipx_runbook import hints
from paths import TEST_DATA

ERRORS = TEST_DATA / "errors"
CAPTURES = sorted(ERRORS.glob("*.txt"))


def _text(path: Path) -> str:
    provenance, text = path.read_text().split("\n", 1)
    assert provenance.startswith("# "), f"{path.name}: the first line must say where the text came from"
    return text


def _capture(name: str) -> str:
    return _text(ERRORS / name)


@pytest.mark.parametrize("path", CAPTURES, ids=[p.name for p in CAPTURES])
def test_each_captured_error_is_explained_by_the_hint_it_is_filed_under(path: Path) -> None:
    explanation = hints.explain(_text(path))
    assert explanation is not None, f"no hint matches {path.name}"
    assert explanation.name == path.name.split(".")[0]


def test_every_hint_has_a_captured_error_text() -> None:
    filed = {path.name.split(".")[0] for path in CAPTURES}
    assert {hint.name for hint in hints.HINTS} == filed


def test_the_seed_troubleshooting_table_is_covered() -> None:
    seed = {path.name.split(".")[0] for path in ERRORS.glob("*.seed.txt")}
    assert seed == {"backend-bucket-missing", "unauthorized", "msk-conflict", "wrong-region-ami"}
    assert "run stage 01" in hints.explain(_capture("backend-bucket-missing.seed.txt")).fix


def test_a_state_lock_error_names_holder_operation_time_and_the_release_command() -> None:
    explanation = hints.explain(_capture("state-locked.txt"))
    assert "held by root@vm" in explanation.meaning
    assert "since 2026-11-26 06:05:50 UTC (" in explanation.meaning and " ago)" in explanation.meaning
    assert "af08fa65-dbec-c370-678a-8bbfa8c46f48" in explanation.meaning
    assert "confirm_lock_id='af08fa65-dbec-c370-678a-8bbfa8c46f48'" in explanation.fix
    assert explanation.fix.startswith("wait for that run to finish")


def test_the_s3_lockfile_lock_error_gives_the_same_details() -> None:
    explanation = hints.explain(_capture("state-locked.lockfile.txt"))
    assert "1ecf5785-c0f4-639f-7557-43d006e8661e" in explanation.fix


def test_a_lock_error_without_lock_info_keeps_the_general_wording() -> None:
    explanation = hints.explain("Error: Error acquiring the state lock\n\nError message: timeout")
    assert explanation.meaning == "another Terraform run holds this environment's state lock"


def test_wrong_account_and_foreign_bucket_name_what_the_text_names() -> None:
    assert "account 210987654321" in hints.explain(_capture("wrong-account.txt")).meaning
    foreign = hints.explain(_capture("backend-bucket-forbidden.txt"))
    assert "aipx-terraform-state" in foreign.meaning and "another AWS account" in foreign.meaning


def test_expired_credentials_are_not_reported_as_missing() -> None:
    # Terraform prints "No valid credential sources found" for an expired SSO token too.
    text = _capture("credentials-expired.txt")
    assert "No valid credential sources" in text
    assert "aws sso login" in hints.explain(text).fix


def test_backend_changed_offers_both_ways() -> None:
    fix = hints.explain(_capture("backend-changed.txt")).fix
    assert "-reconfigure" in fix and "-migrate-state" in fix


def test_provider_download_points_at_a_cache_or_a_mirror() -> None:
    fix = hints.explain(_capture("provider-download.txt")).fix
    assert "TF_PLUGIN_CACHE_DIR" in fix and "filesystem_mirror" in fix


def test_unknown_text_gives_its_first_error_line_and_the_default_fix() -> None:
    text = 'Warning: something\n\nError: Unsupported block type\n\nBlocks of type "foo" are not expected here.'
    assert hints.explain(text) is None
    assert hints.fix_for(text, "the default") == ("Error: Unsupported block type", "the default")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-26T06:05:50.190063022Z", datetime(2026, 11, 26, 6, 5, 50, 190063, tzinfo=UTC)),
        ("2026-11-26 06:05:50.190063022 +0000 UTC", datetime(2026, 11, 26, 6, 5, 50, 190063, tzinfo=UTC)),
        ("2026-01-01", datetime(2026, 1, 1, tzinfo=UTC)),
        ("yesterday", None),
    ],
)
def test_lock_times_are_read_in_both_of_terraforms_formats(text: str, expected: datetime | None) -> None:
    assert hints.parse_time(text) == expected


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(5, "5 s"), (125, "2 min 5 s"), (3 * 3600 + 120, "3 h 2 min"), (2 * 86400 + 3600, "2 d 1 h"), (-3, "0 s")],
)
def test_ages_read_as_a_person_would_say_them(seconds: int, text: str) -> None:
    now = datetime(2026, 1, 2, tzinfo=UTC)
    assert hints.age_text(now - timedelta(seconds=seconds), now) == text
