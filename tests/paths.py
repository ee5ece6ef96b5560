"""Where the tests find the project: the one definition of the checkout's root and of the tests' data folder.

Test modules, fixtures and helper scripts import these (``from paths import PROJECT_ROOT``; pytest puts
``tests/`` on ``sys.path`` through the root conftest, the scripts in ``tests/`` put it there themselves).
"""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEST_DATA = PROJECT_ROOT / "tests" / "data"
