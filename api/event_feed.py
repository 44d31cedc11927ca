"""A run's durable event log as a live feed, shared by the SSE and WebSocket routes.

The API holds no events of its own: every event comes from the workflow's `get_events(after)`
query, so a client that resumes with the last sequence number it saw gets exactly the rest,
whichever API process it reaches. A query costs a worker round trip, so the feed first asks
`describe()` (answered by the server alone) whether the run's history has grown since the last
query, and queries only then. It looks again soon after news and backs off while the run idles.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

from temporalio.client import WorkflowExecutionDescription, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from api.temporal import query_or_none, temporal_calls
from api.views import RunHandle
from domain.run import RunEvent
from settings import Settings
from workflows.research import ResearchWorkflow


@dataclass(frozen=True)
class Comment:
    """Not an event: a note for people reading the raw stream (and the keep-alive)."""

    text: str


@dataclass(frozen=True)
class End:
    """The feed ends without a `finished` event; says why, so a client does not reconnect."""

    reason: str
    message: str
    last_seq: int
    temporal_status: str | None = None


FeedItem = RunEvent | Comment | End
KEEPALIVE = Comment("keep-alive")


class EventFeed:
    def __init__(
        self, handle: RunHandle, settings: Settings, after: int, keepalive_s: float | None
    ) -> None:
        self.handle = handle
        self.after = after
        self._settings = settings
        self._keepalive_s = keepalive_s
        self._timeout = timedelta(seconds=settings.api_query_timeout_s)
        self._delay = settings.events_poll_min_s
        self._pending: list[FeedItem] = []
        self._done = False
        self._seen_history: int | None = None  # history length when the log was last read
        self._worker_missing = False
        self._temporal_down = False
        self._last_sent = time.monotonic()
        self._unread: WorkflowExecutionDescription | None = None

    async def open(self) -> None:
        """The first look, before a response starts: an unknown run raises ApiError(404)."""
        async with temporal_calls("run"):
            desc = await self.handle.describe(rpc_timeout=self._timeout)
        if desc.status == WorkflowExecutionStatus.RUNNING:
            # Read once streaming: headers go out now even if no worker answers the query.
            self._unread = desc
        else:
            await self._read_log(desc)  # a closed run may have nothing left (see `exhausted`)

    @property
    def exhausted(self) -> bool:
        """The run has finished and the client already has every event: nothing will come."""
        return self._done and not self._pending

    async def items(self) -> AsyncIterator[FeedItem]:
        """Events in order, then stop after `finished` (or an End); comments in between."""
        self._last_sent = time.monotonic()
        if self._unread is not None:
            desc, self._unread = self._unread, None
            await self._read_log(desc)
        while True:
            while self._pending:
                yield self._pending.pop(0)
                # Resumed only once the consumer wrote it: a slow client slows the feed down.
                self._last_sent = time.monotonic()
            if self._done:
                return
            async for item in self._wait():
                yield item
            await self._poll()

    async def _wait(self) -> AsyncIterator[Comment]:
        wake = time.monotonic() + self._delay
        self._delay = min(self._delay * 2, self._settings.events_poll_max_s)
        while True:
            now = time.monotonic()
            due = self._last_sent + self._keepalive_s if self._keepalive_s else math.inf
            if now >= due:
                yield KEEPALIVE
                self._last_sent = time.monotonic()
                continue
            if now >= wake:
                return
            await asyncio.sleep(min(wake, due) - now)

    async def _poll(self) -> None:
        try:
            desc = await self.handle.describe(rpc_timeout=self._timeout)
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:  # gone since: retention removed it
                self._end("run_gone", "the run no longer exists in Temporal")
                return
            self._note_outage(f"Temporal did not answer ({err.status.name}); retrying")
            return
        except TimeoutError:
            self._note_outage("Temporal did not answer in time; retrying")
            return
        self._temporal_down = False
        closed = desc.status != WorkflowExecutionStatus.RUNNING
        # Every change to the log happens in a workflow task, which grows the history; an
        # unchanged history means unchanged events, so the (worker-bound) query is skipped.
        if closed or self._worker_missing or desc.history_length != self._seen_history:
            await self._read_log(desc)

    async def _read_log(self, desc: WorkflowExecutionDescription) -> None:
        closed = desc.status != WorkflowExecutionStatus.RUNNING
        status = desc.status.name if desc.status is not None else None
        try:
            page = await query_or_none(
                self.handle.query(
                    ResearchWorkflow.get_events, self.after, rpc_timeout=self._timeout
                ),
                self._settings.api_query_timeout_s,
            )
        except RPCError:  # NOT_FOUND, the one error query_or_none lets through
            self._end("run_gone", "the run no longer exists in Temporal", status)
            return
        if page is None:
            if closed:
                # A closed run is queried by replaying it on a worker; none answered, and none
                # may ever come back, so end here rather than hold the client forever.
                msg = "the run has closed and no worker answered for its event log"
                self._end("log_unavailable", msg, status)
            elif not self._worker_missing:
                self._worker_missing = True
                self._pending.append(Comment("no worker answered; events resume when one does"))
            return
        self._worker_missing = False
        self._seen_history = desc.history_length
        fresh = [e for e in page.events if e.seq > self.after]
        if fresh:
            self.after = fresh[-1].seq
            self._pending.extend(fresh)
            self._delay = self._settings.events_poll_min_s
        if page.finished:
            self._done = True
        elif closed:
            # Terminated or timed out: the workflow never got to write its `finished` event.
            self._end("closed", f"the run closed ({status}) without a finished event", status)

    def _end(self, reason: str, message: str, status: str | None = None) -> None:
        self._pending.append(End(reason, message, self.after, status))
        self._done = True

    def _note_outage(self, text: str) -> None:
        if not self._temporal_down:
            self._temporal_down = True
            self._pending.append(Comment(text))
