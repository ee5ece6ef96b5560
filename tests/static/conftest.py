"""Fixtures of the static checks."""

from terraform_mirror import aipx_providers  # noqa: F401  (a fixture; pytest finds it by name)
