"""Helpers shared by test modules and tools (fixtures live in the rooms' conftest.py files).

Test modules import helpers from here, never from one another: `waiting` (poll a run until a
condition holds), `stack` (ports, corpus, dev server, settings), `api` (the REST facade's paths
and polls), `browser` (the system Chromium and an in-loop API server), `cli` (the `research`
commands under CliRunner) and `workers` (who polls a task queue).
"""

from tests.helpers.waiting import pending_kind, wait_for_status

__all__ = ["pending_kind", "wait_for_status"]
