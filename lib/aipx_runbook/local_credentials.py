"""The credentials target ``local`` signs emulator requests with.

Target local never uses the shell's ``AWS_*`` credentials: by default it signs with the emulator's dummy keys.
An emulator that enforces IAM (moto started with ``INITIAL_NO_AUTH_ACTION_COUNT``) accepts only the keys of a
user it knows, so those are given explicitly, under names that exist for this purpose only:
``AIPX_LOCAL_ACCESS_KEY_ID`` and ``AIPX_LOCAL_SECRET_ACCESS_KEY`` (both or neither). They are sent only to
the local emulator, never to AWS.
"""

from __future__ import annotations

import os

from .errors import UsageError

ACCESS_KEY_VARIABLE = "AIPX_LOCAL_ACCESS_KEY_ID"
SECRET_KEY_VARIABLE = "AIPX_LOCAL_SECRET_ACCESS_KEY"
DUMMY_KEY = "testing"


def local_credentials() -> tuple[str, str]:
    """(access key id, secret key) for the emulator: the opted-in emulator user's keys, else the dummy ones."""
    access_key = os.environ.get(ACCESS_KEY_VARIABLE, "")
    secret_key = os.environ.get(SECRET_KEY_VARIABLE, "")
    if bool(access_key) != bool(secret_key):
        given, missing = (
            (ACCESS_KEY_VARIABLE, SECRET_KEY_VARIABLE) if access_key else (SECRET_KEY_VARIABLE, ACCESS_KEY_VARIABLE)
        )
        raise UsageError(
            f"{given} is set but {missing} is not: target local signs with an emulator user's keys only when both "
            "are given",
            f"set both (the access key id and secret of a user in the local emulator), or unset {given}",
        )
    return (access_key, secret_key) if access_key else (DUMMY_KEY, DUMMY_KEY)


def shell_assignments() -> str:
    """The AWS_* assignments a shell command for target local needs, to be printed: the opted-in emulator user's
    keys by reference to their variables (their values are never printed), else the dummy keys."""
    local_credentials()  # both or neither, else UsageError
    if os.environ.get(ACCESS_KEY_VARIABLE):
        return f'AWS_ACCESS_KEY_ID="${ACCESS_KEY_VARIABLE}" AWS_SECRET_ACCESS_KEY="${SECRET_KEY_VARIABLE}"'
    return f"AWS_ACCESS_KEY_ID={DUMMY_KEY} AWS_SECRET_ACCESS_KEY={DUMMY_KEY}"
