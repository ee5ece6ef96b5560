"""A failed or interrupted Terraform command as a TerraformError: why it failed and what to do (``hints``, a held
lock's release instructions), Terraform's error blocks pointed at aws.tfvars, and the state it left if any."""

from __future__ import annotations

from . import hints, locks, recovery, tfmessages
from .context import StageContext
from .errors import TerraformError


def failed(ctx: StageContext, command: str, returncode: int, output: str, rescued_state: str = "") -> TerraformError:
    shown = f"environments/{ctx.environment}/aws.tfvars"
    text = tfmessages.point_at_tfvars(output, ctx.settings.tfvars, shown)
    why, fix = hints.fix_for(text, f"read the Terraform error above; rerun `terraform {command}` after fixing")
    if "Invalid value for variable" in text:
        why = "a variable's value breaks the stack's validation rule (Terraform's error below names both)"
        fix = f"correct that value in {shown}, then plan again (stage 03)"
    held = locks.Lock.from_error(text)
    if held is not None:
        fix = locks.release_instructions(held, ctx.environment, ctx.target.name, ctx.stack)
    error = TerraformError(command, returncode, errors_only(text), why, fix)
    return _with_rescue(ctx, error, rescued_state)


def interrupted(
    ctx: StageContext, command: str, returncode: int, output: str, rescued_state: str = ""
) -> TerraformError:
    outcome = "stopped" if returncode else "finished anyway"
    error = TerraformError(
        command,
        returncode,
        errors_only(output),
        f"interrupted (Ctrl-C): Terraform {command} {outcome} gracefully, saving the state and releasing its lock",
        "check what the state holds (notebook 07, or `aipx-runbook run --stages state`), then plan and apply "
        "again (stages 03 and 04)",
    )
    error.interrupted = True
    return _with_rescue(ctx, error, rescued_state)


def _with_rescue(ctx: StageContext, error: TerraformError, rescued_state: str) -> TerraformError:
    if rescued_state:
        rescued = recovery.rescued_text(ctx, rescued_state)
        error.details = "\n\n".join(part for part in (error.details, rescued) if part)
    return error


def errors_only(text: str) -> str:
    """Terraform's error blocks without the CLI-configuration warning this image always prints."""
    blocks = text.split("\n\n")
    kept = [b for b in blocks if "CLI configuration" not in b and "Unable to open CLI configuration" not in b]
    return "\n\n".join(kept).strip() or text.strip()
