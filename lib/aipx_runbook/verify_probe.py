"""What every live check works with: the outputs, the environment's expectations and the AWS clients, and the
shape of a check's result (PASS, FAIL or SKIP, always with the reason)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import aws_errors, config

if TYPE_CHECKING:
    from botocore.exceptions import ClientError

    from .aws import AwsTarget
    from .config import EnvironmentSettings
    from .context import StageContext

PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"
EMULATOR = "the local emulator (moto)"
NOT_IMPLEMENTED_STATUS = (500, 501)
Result = tuple[str, str]  # (PASS, FAIL or SKIP; the reason)


@dataclass(frozen=True)
class Check:
    name: str
    outputs: str
    status: str
    reason: str


@dataclass(frozen=True)
class Expectations:
    """What environments/<env>/aws.tfvars says the environment must look like (None: not declared there)."""

    availability_zone_count: int | None = None
    multi_az: bool | None = None

    @classmethod
    def of(cls, settings: EnvironmentSettings) -> Expectations:
        if not settings.tfvars.exists():
            return cls()
        values = config.read_tfvars(settings.tfvars)
        count = values.get("availability_zone_count")
        multi_az = values.get("rds_multi_az")
        return cls(int(count) if count is not None else None, bool(multi_az) if multi_az is not None else None)


@dataclass
class Probe:
    ctx: StageContext
    outputs: dict[str, Any]
    expectations: Expectations
    emulated: bool

    @property
    def target(self) -> AwsTarget:
        return self.ctx.target

    @property
    def settings(self) -> EnvironmentSettings:
        return self.ctx.settings

    def client(self, service: str, attempts: int | None = None) -> Any:
        return self.target.client(service, attempts=attempts)

    def unanswered(self, error: ClientError, operation: str) -> Result | None:
        """SKIP when the emulator does not implement an operation; None when the error is a real answer."""
        status = aws_errors.http_status(error)
        if self.emulated and (status in NOT_IMPLEMENTED_STATUS or aws_errors.code(error) == "NotImplemented"):
            return SKIP, f"{EMULATOR} does not implement {operation} (it answered HTTP {status}); check on AWS"
        return None
