"""boto3 sessions and Terraform environments that honour the target.

Target ``local`` talks only to the emulator, with dummy credentials (or an emulator user's keys given
explicitly: local_credentials.py), whatever the shell holds: no AWS_* of the shell, no config or credential
file, no proxy (isolation.py); target ``aws`` uses the standard credential chain (profile, environment, SSO).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import timings

if TYPE_CHECKING:  # boto3 is imported on first use: stages that make no AWS call never pay for it
    import boto3

from . import isolation

__all__ = ["LOCAL_ACCOUNT_ID", "AwsTarget"]
LOCAL_ACCOUNT_ID = "123456789012"
RETRIES = {"retries": {"max_attempts": 5, "mode": "standard"}}


@functools.cache
def shared_loader() -> Any:
    """One botocore data loader for every session of this process: the service models, endpoints and partitions
    it reads (JSON of up to megabytes) are cached by the loader, and a session each call would read them again."""
    import botocore.loaders

    return botocore.loaders.create_loader()


def _deduplicated(session: boto3.Session) -> boto3.Session:
    """boto3 appends its own data folder to the session's loader: to the shared one, once per session."""
    paths = session._loader.search_paths
    paths[:] = list(dict.fromkeys(paths))
    return session


def warm(services: tuple[str, ...], region: str) -> None:
    """Read the services' models into the shared loader now (a kernel started ahead does this for its stage):
    a client is made for each, with dummy keys and no network call, and dropped."""
    session = isolation.shell_free_session(region, shared_loader())
    for service in services:
        session.client(service, endpoint_url="http://127.0.0.1:9")
    _deduplicated(session)


@dataclass(frozen=True)
class AwsTarget:
    name: str
    region: str
    endpoint_url: str = ""
    profile: str = ""

    @property
    def is_local(self) -> bool:
        return self.name == "local"

    def session(self) -> boto3.Session:
        import boto3

        if self.is_local:
            return _deduplicated(isolation.shell_free_session(self.region, shared_loader()))
        # boto3's own session: its data loader reads the profile's configuration, which is how an unknown
        # profile fails here, at once (accounts.check_credentials says so)
        return boto3.Session(profile_name=self.profile or None, region_name=self.region)

    def client(self, service: str, region: str | None = None, attempts: int | None = None) -> Any:
        from botocore.config import Config

        retries = {"retries": {"max_attempts": attempts, "mode": "standard"}} if attempts else RETRIES
        config = Config(**retries)
        options: dict[str, Any] = {"config": config, "region_name": region or self.region}
        if self.is_local:
            options["endpoint_url"] = self.endpoint_url
            options["config"] = config.merge(isolation.direct())
        return timings.watch_client(self.session().client(service, **options))

    def terraform_env(self) -> dict[str, str]:
        """The environment for a Terraform process working on this target."""
        if self.is_local:
            return isolation.local_env(os.environ, self.region)
        env = dict(os.environ)
        env["AWS_REGION"] = self.region
        env["AWS_DEFAULT_REGION"] = self.region
        if self.profile:
            env["AWS_PROFILE"] = self.profile
        return env

    def describe(self) -> str:
        if self.is_local:
            where = f"at {self.endpoint_url}" if self.endpoint_url else "(started at the first call)"
            return f"local emulator {where} (no AWS account is touched)"
        return f"AWS account via {'profile ' + self.profile if self.profile else 'the default credential chain'}"
