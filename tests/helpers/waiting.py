"""Small waiting helpers: poll a run's status until a condition holds, with a deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from temporalio.client import WorkflowHandle

from domain.run import RunView
from workflows.research import ResearchWorkflow


async def wait_for_status(
    handle: WorkflowHandle, predicate: Callable[[RunView], bool], within: float = 60.0
) -> RunView:
    deadline = time.monotonic() + within
    last: RunView | None = None
    while time.monotonic() < deadline:
        try:
            last = await handle.query(ResearchWorkflow.get_status)
        except Exception:
            last = None
        if last is not None and predicate(last):
            return last
        await asyncio.sleep(0.2)
    raise AssertionError(f"condition not reached in {within}s; last status: {last}")


def pending_kind(kind: str) -> Callable[[RunView], bool]:
    return lambda view: view.pending is not None and view.pending.kind == kind
