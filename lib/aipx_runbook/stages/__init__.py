"""One function per runbook stage: what each notebook cell calls. Each returns a Report."""

from __future__ import annotations

import time

import aipx_runbook

from .. import timings
from ..context import start_stage
from ..contract import MASK as MASK
from .apply import apply as apply
from .backend import backend_setup as backend_setup
from .budget import budget as budget
from .budget import cost_estimate as cost_estimate
from .destroy import deletion_protection_note as deletion_protection_note
from .destroy import destroy as destroy
from .destroy import destroy_plan as destroy_plan
from .init import init as init
from .plan import cost_of_plan as cost_of_plan
from .plan import plan as plan
from .prerequisites import prerequisites as prerequisites
from .state import lock_status as lock_status
from .state import release_lock as release_lock
from .state import state_list as state_list
from .state import state_show as state_show
from .state import state_versions as state_versions
from .verify import outputs as outputs
from .verify import verify as verify

start = start_stage


timings.add("imports", time.perf_counter() - aipx_runbook.IMPORT_STARTED)
