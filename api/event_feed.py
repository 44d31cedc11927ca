"""One stream's view of a run's durable event log, shared by the SSE and WebSocket routes.

The API holds no events of its own beyond what its streams are reading: every event comes from
the workflow's `get_events(after)` query, or for a closed run from the log it stored as it
finished, so a client that resumes with the last sequence number it saw gets exactly the rest,
whichever API process it reaches. The reading is done by the run's one RunFeed in this process
(api/run_feed.py), which asks `describe()` (answered by the server alone) whether the history
grew before it queries; this class walks that shared log at its consumer's pace, with its own
keep-alives, and ends a consumer that falls too far behind.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from api.event_archive import EventArchive
from api.run_feed import FeedHub, RunFeed
from api.views import RunHandle
from domain.run import RunEvent
from providers.artifacts import ArtifactStore
from settings import Settings


@dataclass(frozen=True)
class Comment:
    """Not an event: a note for people reading the raw stream (and the keep-alive)."""

    text: str


@dataclass(frozen=True)
class End:
    """The feed ends without a `finished` event; says why, so a client does not reconnect
    (but for `lagging`, where it resumes from `last_seq` when it can keep up)."""

    reason: str
    message: str
    last_seq: int
    temporal_status: str | None = None


FeedItem = RunEvent | Comment | End
KEEPALIVE = Comment("keep-alive")


class EventFeed:
    """The events of `handle`'s run after `after`. With a `hub`, the run's reading is shared
    with every other stream of it in this process; `close()` (also run when `items` ends)
    leaves it."""

    def __init__(
        self,
        handle: RunHandle,
        settings: Settings,
        after: int,
        keepalive_s: float | None,
        *,
        hub: FeedHub | None = None,
        archive: EventArchive | None = None,
    ) -> None:
        self.handle = handle
        self.after = after
        self._hub = hub
        shared = hub.join(handle, settings, archive, after) if hub is not None else None
        self.run = shared or RunFeed(handle, settings, archive, after)
        self._keepalive_s = keepalive_s
        self._max_lag = settings.events_max_lag
        self._last_sent = time.monotonic()
        self._notes_seen = 0
        self._joined: int | None = None  # the log's end when this stream started reading it
        self._closed = False

    async def open(self) -> None:
        """The first look, before a response starts: an unknown run raises ApiError(404)."""
        try:
            await self.run.open()
            await self.run.backfill(self.after)  # a closed run's log is read by now
        except BaseException:
            self.close()
            raise

    @property
    def exhausted(self) -> bool:
        """The run has finished and the client already has every event: nothing will come."""
        return self.run.done and self.run.end is None and not self.run.after(self.after)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self._hub is not None:
                self._hub.leave(self.run)
            else:
                self.run.stop()

    async def items(self) -> AsyncIterator[FeedItem]:
        """Events in order, then stop after `finished` (or an End); comments in between."""
        self._last_sent = time.monotonic()
        try:
            await self.run.start()
            await self.run.backfill(self.after)
            self._joined = self.run.last_seq
            while True:
                if self.run.notes > self._notes_seen:
                    self._notes_seen = self.run.notes
                    if self.run.note:
                        yield Comment(self.run.note)
                        self._last_sent = time.monotonic()
                fresh = self.run.after(self.after)
                if fresh:
                    if self.run.last_seq - max(self.after, self._joined) > self._max_lag:
                        yield self._lagging()
                        return
                    self.after = fresh[0].seq
                    yield fresh[0]
                    # Resumed only once the consumer wrote it: a slow client slows only itself.
                    self._last_sent = time.monotonic()
                    continue
                if self.run.done:
                    if self.run.end is not None:
                        reason, message, status = self.run.end
                        yield End(reason, message, self.after, status)
                    return
                async for item in self._wait():
                    yield item
        finally:
            self.close()

    def _lagging(self) -> End:
        behind = self.run.last_seq - self.after
        message = (
            f"this stream fell {behind} events behind the run; "
            "reconnect with Last-Event-ID to resume from the last event received"
        )
        return End("lagging", message, self.after)

    async def _wait(self) -> AsyncIterator[Comment]:
        """Until the run's next look (shared with the other streams), with keep-alives."""
        look = self.run.next_round()
        while not look.done():
            due = self._last_sent + self._keepalive_s if self._keepalive_s else math.inf
            now = time.monotonic()
            if now >= due:
                yield KEEPALIVE
                self._last_sent = time.monotonic()
                continue
            await asyncio.wait({look}, timeout=None if due == math.inf else due - now)
        if not look.cancelled():
            look.result()  # an unexpected error in the look ends this stream with it


def stream_of(
    state: Any,
    settings: Settings,
    handle: RunHandle,
    run_id: str,
    after: int,
    keepalive: float | None,
) -> EventFeed:
    """A stream of run `run_id` for an app (its `state`): shares the process's feed of the run,
    and reads the run's stored log once it has closed."""
    hub = getattr(state, "feeds", None)
    if hub is None:  # made on first use, so every app (tests' own included) gets one
        hub = state.feeds = FeedHub()
    store: ArtifactStore | None = getattr(state, "artifacts", None)
    archive = EventArchive(store, run_id, handle.id) if store is not None else None
    return EventFeed(handle, settings, after, keepalive, hub=hub, archive=archive)
