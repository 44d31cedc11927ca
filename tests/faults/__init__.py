"""The fault suite: runs driven to their end while their infrastructure is broken on purpose.

Each scenario (one module each) starts a fresh embedded stack, plays the person for N runs while
one kind of fault fires at random moments, and audits every run afterwards (`audit.py`): it
ended right, no completed activity result was lost or re-run unseen, each human decision was
applied exactly once, and the report reads back whole. `python -m tests.faults` prints the
table and writes docs/faults.md; tests/integration/test_faults.py runs every scenario small in
CI.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tests.faults import api_kill, provider_faults, server_restart, store_faults, worker_kill
from tests.faults.harness import Tally

Scenario = Callable[[int, int], Awaitable[Tally]]

# name on the command line -> run(runs, seed)
SCENARIOS: dict[str, Scenario] = {
    "worker_kill": worker_kill.run,
    "server_restart": server_restart.run,
    "api_kill": api_kill.run,
    "provider_faults": provider_faults.run,
    "store_faults": store_faults.run,
}
