"""boto3 sessions and Terraform environments that honour the target.

Target ``local`` talks only to the emulator, with dummy credentials (or an emulator user's keys given
explicitly: local_credentials.py), whatever the shell's AWS_* hold; target ``aws`` uses the standard
credential chain (profile, environment, SSO).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import timings

if TYPE_CHECKING:  # boto3 is imported on first use: stages that make no AWS call never pay for it
    import boto3

from .local_credentials import local_credentials

LOCAL_ACCOUNT_ID = "123456789012"
RETRIES = {"retries": {"max_attempts": 5, "mode": "standard"}}


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
            access_key, secret_key = local_credentials()
            return boto3.Session(
                aws_access_key_id=access_key, aws_secret_access_key=secret_key, region_name=self.region
            )
        return boto3.Session(profile_name=self.profile or None, region_name=self.region)

    def client(self, service: str, region: str | None = None) -> Any:
        with timings.measure("aws"):  # the SDK's import on first use and its service model count too
            from botocore.config import Config

            options: dict[str, Any] = {"config": Config(**RETRIES), "region_name": region or self.region}
            if self.is_local:
                options["endpoint_url"] = self.endpoint_url
            return timings.watch_client(self.session().client(service, **options))

    def terraform_env(self) -> dict[str, str]:
        """The environment for a Terraform process working on this target."""
        env = dict(os.environ)
        env["AWS_REGION"] = self.region
        env["AWS_DEFAULT_REGION"] = self.region
        if self.is_local:
            for name in list(env):
                if name.startswith("AWS_") and name not in ("AWS_REGION", "AWS_DEFAULT_REGION"):
                    del env[name]
            env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = local_credentials()
            env["AWS_EC2_METADATA_DISABLED"] = "true"
        elif self.profile:
            env["AWS_PROFILE"] = self.profile
        return env

    def describe(self) -> str:
        if self.is_local:
            return f"local emulator at {self.endpoint_url} (no AWS account is touched)"
        return f"AWS account via {'profile ' + self.profile if self.profile else 'the default credential chain'}"
