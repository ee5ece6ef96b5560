"""Fixtures of the integration tests."""

from aipx_plans import aipx_plans  # noqa: F401  (fixtures; pytest finds them by name)

from terraform_mirror import aipx_providers  # noqa: F401
