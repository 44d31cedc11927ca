"""The event feed behind SSE and WebSocket, on a scripted workflow handle (no server needed).

What matters here is cost and memory: the feed queries the workflow only when its history grew,
and reads nothing more while its consumer has not taken what it already has.
"""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio.client import WorkflowExecutionStatus

from api.event_feed import KEEPALIVE, Comment, End, EventFeed
from domain.run import RunEvent
from settings import Settings
from tests.helpers.scripted_run import ScriptedRun

QUICK = Settings(
    _env_file=None, events_poll_min_s=0.001, events_poll_max_s=0.01, api_query_timeout_s=1
)


def feed(run: ScriptedRun, after: int = 0, keepalive_s: float | None = None) -> EventFeed:
    return EventFeed(run, QUICK, after, keepalive_s)  # type: ignore[arg-type]


async def test_nothing_more_is_read_while_the_consumer_holds_back() -> None:
    run = ScriptedRun()
    run.add("a", "b", "c")
    items = feed(run).items()
    assert (await anext(items)).seq == 1  # type: ignore[union-attr]
    run.add("d", "e")  # news arrives while the client is slow
    await asyncio.sleep(0.1)  # however long: the feed waits at its yield, asking nothing
    assert run.queries == 1
    assert [(await anext(items)).seq for _ in range(4)] == [2, 3, 4, 5]  # type: ignore[union-attr]
    assert run.queries == 2  # read again only once the first page was written


async def test_an_idle_run_costs_describes_and_keep_alives_but_no_queries() -> None:
    run = ScriptedRun()
    run.add("input_awaited")
    got = []
    async for item in feed(run, keepalive_s=0.02).items():
        got.append(item)
        if got.count(KEEPALIVE) == 3:
            break
    assert isinstance(got[0], RunEvent) and got[1:] == [KEEPALIVE] * 3
    assert run.queries == 1 and run.describes > 1


async def test_the_feed_ends_after_finished_and_resumes_exactly() -> None:
    run = ScriptedRun()
    run.add("a", "b", "finished")
    run.finished = True
    assert [e.seq for e in [i async for i in feed(run, after=1).items()]] == [2, 3]  # type: ignore[union-attr]
    done = feed(run, after=3)
    run.status = WorkflowExecutionStatus.COMPLETED
    await done.open()
    assert done.exhausted  # the route answers 204


async def test_a_missing_worker_is_said_once_and_a_closed_run_ends_the_feed() -> None:
    run = ScriptedRun()
    run.add("a")
    run.worker = False
    got: list[Any] = []
    async for item in feed(run).items():
        got.append(item)
        if len(got) == 1:
            assert item == Comment("no worker answered; events resume when one does")
            run.worker = True  # it comes back: the log is read, though history did not grow
        elif len(got) == 2:
            assert isinstance(item, RunEvent) and item.seq == 1
            run.worker = False
            run.status = WorkflowExecutionStatus.COMPLETED  # and closes with no one to replay it
    end = got[-1]
    assert len(got) == 3 and isinstance(end, End)
    assert (end.reason, end.last_seq, end.temporal_status) == ("log_unavailable", 1, "COMPLETED")


async def test_a_terminated_run_ends_with_the_reason() -> None:
    run = ScriptedRun()
    run.add("a")
    run.status = WorkflowExecutionStatus.TERMINATED
    done = feed(run)
    await done.open()
    assert not done.exhausted  # there is something to say, so the route streams it
    got = [i async for i in done.items()]
    assert isinstance(got[0], RunEvent) and got[1] == End(
        "closed", "the run closed (TERMINATED) without a finished event", 1, "TERMINATED"
    )
