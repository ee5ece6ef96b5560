"""Stage 02: ``terraform init`` against the environment's S3 state backend."""

from __future__ import annotations

from .. import deprecations
from ..context import StageContext
from ..results import Report, Table
from ..terraform import TerraformRunner

SHOWN_SETTINGS = ("bucket", "key", "region", "dynamodb_table", "use_lockfile", "encrypt")


def init(ctx: StageContext) -> Report:
    runner = TerraformRunner(ctx)
    result = runner.init(stream=True)
    config = runner.backend_config()
    rows = [[key, value] for key, value in config.items() if key in SHOWN_SETTINGS]
    report = Report(
        "terraform init",
        "ok",
        f"backend s3 configured for {ctx.environment} in {result.seconds:.1f} s",
        facts={"state": f"s3://{config['bucket']}/{config['key']}", "terraform": runner.version_text},
        tables=[Table(["backend setting", "value"], rows)],
    )
    if "dynamodb_table" in config and runner.version >= (1, 11, 0):
        report.notes.append(deprecations.explanation(ctx.environment))
    return ctx.record(report)
