"""The AIPX stack applied, verified, destroyed, applied and destroyed again on the moto server, through the
runbook's stages (tests/aipx_lifecycle.py), for staging: its sizing keeps a final database snapshot and
versioned buckets, so a fixed snapshot name or a bucket that cannot be emptied fails the second cycle.

moto runs with MOTO_IAM_LOAD_MANAGED_POLICIES=true (the Lambda roles attach AWSLambdaENIManagementAccess), in a
workspace and server of its own. What moto cannot create is left out (aipx_lifecycle.EXCLUDED).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from aipx_lifecycle import (
    EXCLUDED,
    EXPECTED_DEPENDENTS,
    Cycle,
    backend_present,
    create_permissions_boundary,
    final_snapshots,
    run_cycle,
)
from aipx_runbook import emulator, stages
from terraform_mirror import ProviderInstallation

pytestmark = [
    pytest.mark.integration,
    pytest.mark.xdist_group("aipx_lifecycle"),
    # About 8.5 minutes on a quiet 2-core machine (33 under load); passed once so far, so not yet in every
    # `make test`: `make test-lifecycle` (or AIPX_RUN_LIFECYCLE=1) runs it.
    pytest.mark.skipif(
        os.environ.get("AIPX_RUN_LIFECYCLE", "") != "1",
        reason="the AIPX emulator lifecycle (two cycles, ~8.5 min) runs with `make test-lifecycle`",
    ),
]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENT = "staging"


@pytest.fixture(scope="module")
def lifecycle(
    aipx_providers: ProviderInstallation, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, object]]:
    root = tmp_path_factory.mktemp("aipx-lifecycle")
    project = root / "project"
    shutil.copytree(PROJECT_ROOT / "environments", project / "environments")
    shutil.copytree(
        PROJECT_ROOT / "terraform" / "aws",
        project / "terraform" / "aws",
        ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", "*.tfplan"),
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIPX_PROJECT_ROOT", str(project))
        patch.setenv("AIPX_WORKSPACE", str(root / "workspace"))
        patch.setenv("AIPX_HEADLESS", "1")
        patch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        for name, value in aipx_providers.environment.items():
            patch.setenv(name, value)
        emulator.start()
        try:
            run_dir = root / "runs"
            ctx = stages.start("backend", environment=ENVIRONMENT, target="local", stack="aipx", run_dir=str(run_dir))
            stages.backend_setup(ctx)
            create_permissions_boundary(ctx, project / "terraform" / "aws")
            stages.init(
                stages.start("init", environment=ENVIRONMENT, target="local", stack="aipx", run_dir=str(run_dir))
            )
            first = run_cycle(ENVIRONMENT, run_dir / "1")
            snapshots_after_first = final_snapshots(ctx)
            second = run_cycle(ENVIRONMENT, run_dir / "2")
            # Measured, not asserted (load varies): shown with -s, and in the report of a failing run.
            print(f"\nlifecycle seconds: cycle 1 {first.seconds}, cycle 2 {second.seconds}")
            yield {
                "cycles": (first, second),
                "snapshots": (snapshots_after_first, final_snapshots(ctx)),
                "backend_missing": backend_present(ctx),
            }
        finally:
            emulator.stop()


def _cycles(lifecycle: dict[str, object]) -> tuple[Cycle, Cycle]:
    return lifecycle["cycles"]  # type: ignore[return-value]


def test_each_plan_leaves_out_exactly_what_moto_cannot_run(lifecycle: dict[str, object]) -> None:
    for cycle in _cycles(lifecycle):
        assert cycle.plan.facts["excluded"] == list(EXCLUDED)
        assert sorted(cycle.plan.facts["left_out"]) == sorted([*EXCLUDED, *EXPECTED_DEPENDENTS])
        assert cycle.plan.facts["add"] > 100, "everything else of the stack is applied"
        assert cycle.apply.facts["applied"] is True


def test_verify_passes_or_skips_every_output_with_a_reason(lifecycle: dict[str, object]) -> None:
    for cycle in _cycles(lifecycle):
        assert cycle.verify.facts["checks_failed"] == 0
        assert cycle.verify.facts["checks_passed"] >= 10
        [table] = cycle.verify.tables
        for check, _outputs, result, reason in table.rows:
            assert result in ("PASS", "SKIP") and reason, f"{check}: {result} without a reason"


def test_destroy_empties_buckets_and_repositories_and_leaves_nothing(lifecycle: dict[str, object]) -> None:
    for number, cycle in enumerate(_cycles(lifecycle), start=1):
        assert all(count >= 1 for count in cycle.seeded.values()) and len(cycle.seeded) == 4, cycle.seeded
        assert cycle.destroy.facts["destroyed"] is True
        assert cycle.leftovers == [], f"cycle {number}: the emulator still holds {cycle.leftovers}"


def test_every_destroy_keeps_its_own_final_snapshot(lifecycle: dict[str, object]) -> None:
    after_first, after_second = lifecycle["snapshots"]  # type: ignore[misc]
    assert len(after_first) == 1
    assert len(after_second) == 2 and after_first[0] in after_second


def test_the_backend_survives_both_destroys(lifecycle: dict[str, object]) -> None:
    assert lifecycle["backend_missing"] == []
