"""What every test run shares: pytest ends with its own exit status, skipping the interpreter's
teardown. The fixtures live with the room that uses them: tests/integration/conftest.py starts
the Temporal dev server, the scripted LLM and the worker; tests/unit needs none of them.
"""

from __future__ import annotations

import pytest

from runtime.process_exit import exit_now

# bench/ imports these from here; new code imports them from tests.helpers.stack.
from tests.helpers.stack import (
    CORPUS,
    connect,
    free_port,
    stack_settings,
    start_dev_server,
    write_corpus,
)

__all__ = ["CORPUS", "connect", "free_port", "stack_settings", "start_dev_server", "write_corpus"]

_EXIT_STATUS_KEY = pytest.StashKey[int]()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config.stash[_EXIT_STATUS_KEY] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """End pytest with its own exit status once everything is reported, skipping the
    interpreter's teardown: this process holds Temporal clients, and the SDK's threads can abort
    that teardown with SIGABRT after every test passed (see stack/process_exit.py)."""
    if _EXIT_STATUS_KEY in config.stash:
        exit_now(config.stash[_EXIT_STATUS_KEY])
