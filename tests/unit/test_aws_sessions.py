"""Sessions for the emulator share one botocore data loader (aws.shared_loader), so a stage that makes many
clients reads each service's model once; an unknown profile on target aws still fails as the session is made."""

from __future__ import annotations

import pytest
from botocore.exceptions import ProfileNotFound

from aipx_runbook import aws
from aipx_runbook.aws import AwsTarget


def test_local_sessions_share_one_loader_and_its_search_path_does_not_grow() -> None:
    target = AwsTarget("local", "ap-northeast-2", endpoint_url="http://127.0.0.1:9")
    first, second = target.session(), target.session()
    assert first._loader is second._loader is aws.shared_loader()
    paths = list(second._loader.search_paths)
    target.session()
    assert second._loader.search_paths == paths
    assert len(set(paths)) == len(paths)


def test_a_warmed_service_model_is_read_from_the_shared_loader(monkeypatch) -> None:
    aws.warm(("sqs",), "ap-northeast-2")
    loader = aws.shared_loader()
    reads: list[str] = []
    original = loader.file_loader.load_file

    def counted(path: str) -> object:
        reads.append(path)
        return original(path)

    monkeypatch.setattr(loader.file_loader, "load_file", counted)
    AwsTarget("local", "ap-northeast-2", endpoint_url="http://127.0.0.1:9").client("sqs")
    assert not [path for path in reads if "/sqs/" in path]


def test_an_unknown_profile_on_target_aws_fails_as_the_session_is_made(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    with pytest.raises(ProfileNotFound):
        AwsTarget("aws", "ap-northeast-2", profile="nobody-has-this").session()
