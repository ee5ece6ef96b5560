"""Target local is sealed off from the shell: no ``AWS_*`` setting and no proxy reaches the emulator.

- The emulator process, the boto3 clients and Terraform get the emulator's credentials and nothing of the shell's
  AWS configuration: no ``AWS_PROFILE``, no config or credential files, no keys, no session token, no endpoint
  or CA bundle override. (botocore reads ``AWS_PROFILE`` and the shell's config files even when keys are passed
  explicitly, so the clients use a botocore session whose configuration chain sees an empty environment.)
- Loopback bypasses every proxy: ``NO_PROXY``/``no_proxy`` name 127.0.0.1, localhost and ::1 for child processes,
  and the clients and health checks connect directly.
- The emulator's credentials are ``testing``/``testing`` (moto accepts anything unless it enforces IAM), or the
  keys of an emulator user given deliberately as ``AIPX_LOCAL_ACCESS_KEY_ID``/``AIPX_LOCAL_SECRET_ACCESS_KEY``
  (local_credentials.py): the only way keys reach the emulator, honoured by the clients and Terraform alike.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from .local_credentials import local_credentials

LOOPBACK = ("127.0.0.1", "localhost", "::1")
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


def with_loopback_bypass(env: dict[str, str]) -> dict[str, str]:
    """``NO_PROXY``/``no_proxy`` extended by the loopback names, whatever the shell set."""
    for name in ("NO_PROXY", "no_proxy"):
        present = [item.strip() for item in env.get(name, "").split(",") if item.strip()]
        env[name] = ",".join(present + [host for host in LOOPBACK if host not in present])
    return env


def local_env(base: Mapping[str, str] | None = None, region: str = "") -> dict[str, str]:
    """A child process's environment for target local: the shell's, minus every AWS_*, plus the emulator's keys."""
    env = {name: value for name, value in (base or os.environ).items() if not name.startswith("AWS_")}
    key, secret = local_credentials()
    env.update(
        AWS_ACCESS_KEY_ID=key,
        AWS_SECRET_ACCESS_KEY=secret,
        AWS_EC2_METADATA_DISABLED="true",
        # the shell's ~/.aws files must not apply either
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    if region:
        env.update(AWS_REGION=region, AWS_DEFAULT_REGION=region)
    return with_loopback_bypass(env)


def shell_free_session(region: str, loader: Any = None) -> Any:
    """A boto3 session with the emulator's keys whose botocore configuration ignores the shell entirely;
    ``loader``: the botocore data loader to read service models with (aws.shared_loader)."""
    import boto3
    import botocore.session
    from botocore import configprovider

    core = botocore.session.Session()
    if loader is not None:
        core.register_component("data_loader", loader)
    chain = configprovider.ConfigChainFactory(session=core, environ={})
    create = configprovider._create_config_chain_mapping  # botocore's own builder, fed an empty environment
    mapping = create(chain, configprovider.BOTOCORE_DEFAUT_SESSION_VARIABLES)
    for section, variables in (
        ("s3", configprovider.DEFAULT_S3_CONFIG_VARS),
        ("proxies_config", configprovider.DEFAULT_PROXIES_CONFIG_VARS),
    ):
        mapping[section] = configprovider.SectionConfigProvider(section, core, create(chain, variables))
    core.register_component("config_store", configprovider.ConfigValueStore(mapping=mapping))
    core.set_config_variable("config_file", os.devnull)
    core.set_config_variable("credentials_file", os.devnull)
    key, secret = local_credentials()
    return boto3.Session(botocore_session=core, aws_access_key_id=key, aws_secret_access_key=secret, region_name=region)


def direct() -> Any:
    """A botocore Config that connects without any proxy (for the emulator on loopback)."""
    from botocore.config import Config

    return Config(proxies={"http": "", "https": ""})


def direct_urlopen(url: str, timeout: float) -> Any:
    """urllib's urlopen without any proxy: the emulator is on loopback."""
    import urllib.request  # here: the CLI's start (cli_errors imports this module) does not need it

    return urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url, timeout=timeout)


def proxy_for(url: str) -> str:
    """The proxy the environment routes this URL through ('' when none or bypassed)."""
    import urllib.request

    if urllib.request.proxy_bypass(url.split("://", 1)[-1].split("/", 1)[0]):
        return ""
    scheme = url.split("://", 1)[0]
    return urllib.request.getproxies().get(scheme, "")
