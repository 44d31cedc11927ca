"""Helpers shared by test modules and tools (fixtures live in the rooms' conftest.py files).

Test modules import helpers from here, never from one another: `waiting` (poll a run's status
until a condition holds), `stack` (ports, corpus, dev server, settings, who polls a task queue,
time skipping) and `frontends` (the REST facade, the `research` command line and the browser as
the tests drive them).
"""

from tests.helpers.waiting import pending_kind, wait_for_status

__all__ = ["pending_kind", "wait_for_status"]
