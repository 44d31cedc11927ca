"""One poller per run inside an API process: the log it reads is shared by every stream of it.

Every SSE or WebSocket stream of a run subscribes to the same RunFeed, which holds the events
read so far and does the only describe/query loop for that run; subscribers read from its log
at their own pace. A poll happens only while some subscriber has taken everything and waits for
more, so a slow stream never holds the others back and an idle audience costs nothing. A run
that has closed is read from its stored final log (api/event_archive.py) when it has one, and
queried otherwise.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio.client import WorkflowExecutionDescription, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from api.event_archive import EventArchive
from api.temporal import query_or_none, temporal_calls
from api.views import RunHandle
from domain.run import EventsPage, RunEvent
from settings import Settings
from workflows.research import ResearchWorkflow


class RunFeed:
    """A run's event log as read so far, and the one loop that reads more of it."""

    def __init__(
        self,
        handle: RunHandle,
        settings: Settings,
        archive: EventArchive | None,
        after: int = 0,
    ) -> None:
        self.handle = handle
        self.archive = archive
        self._settings = settings
        self._timeout = timedelta(seconds=settings.api_query_timeout_s)
        self._delay = settings.events_poll_min_s
        self.events: list[RunEvent] = []
        # The seq before events[0]: the first stream's resume point (a query answer is one
        # payload: a client near the end must not pull the whole log), or where a continued
        # run's kept tail starts. Streams from further back: `backfill`.
        self.base = after
        self._read = False
        self._backfilled_to = after  # the earliest resume point older events were fetched for
        self._backfill_lock = asyncio.Lock()
        self.done = False
        self.end: tuple[str, str, str | None] | None = None  # reason, message, Temporal status
        # The comment on what is wrong now (empty when nothing is), numbered so that each
        # subscriber says each one once, and one that joins later hears of a current one.
        self.note = ""
        self.notes = 0
        self.subscribers = 0
        self._seen_history: int | None = None  # history length when the log was last read
        self._worker_missing = False
        self._temporal_down = False
        self._opened: asyncio.Task[None] | None = None
        self._unread: WorkflowExecutionDescription | None = None
        self._started: asyncio.Task[None] | None = None
        self._round: asyncio.Task[None] | None = None

    @property
    def last_seq(self) -> int:
        return self.base + len(self.events)

    def after(self, seq: int) -> list[RunEvent]:
        """The events read so far that come after `seq` (from the oldest kept, if before it)."""
        return self.events[max(seq - self.base, 0) :]

    async def open(self) -> None:
        """The first look, once for all subscribers: an unknown run raises ApiError(404)."""
        if self._opened is None:
            self._opened = asyncio.ensure_future(self._first_look())
        await asyncio.shield(self._opened)

    async def _first_look(self) -> None:
        async with temporal_calls("run"):
            desc = await self.handle.describe(rpc_timeout=self._timeout)
        if desc.status == WorkflowExecutionStatus.RUNNING:
            # Read once streaming: headers go out now even if no worker answers the query.
            self._unread = desc
        else:
            await self._read_log(desc)

    async def start(self) -> None:
        """The read `open` put off for a running run: once, whoever asks first; all wait on it."""
        if self._started is None:
            self._started = asyncio.ensure_future(self._first_read())
        await asyncio.shield(self._started)

    async def _first_read(self) -> None:
        if self._unread is not None:
            desc, self._unread = self._unread, None
            await self._read_log(desc)

    async def backfill(self, after: int) -> None:
        """Events after `after` that this feed started past, fetched once for a stream that
        resumes from further back than the first one did (one query, or the stored log)."""
        if not self._read or after >= self._backfilled_to:
            return
        async with self._backfill_lock:
            if after >= self._backfilled_to:
                return
            older = await self._older(after)
            if older is None:
                return  # nothing to be had now: the stream starts from the oldest kept
            self._backfilled_to = after
            missing = [e for e in older.events if after < e.seq <= self.base]
            if missing:
                self.events[:0] = missing
                self.base = missing[0].seq - 1

    async def _older(self, after: int) -> EventsPage | None:
        if self.done and self.archive is not None:
            stored = await self.archive.load()
            if stored is not None:
                return stored
        try:
            return await self._query(after)
        except RPCError:  # gone: the stream ends with what the feed has
            return None

    async def _query(self, after: int) -> EventsPage | None:
        """`get_events(after)`; None when no worker answers in time (NOT_FOUND raises)."""
        call = self.handle.query(ResearchWorkflow.get_events, after, rpc_timeout=self._timeout)
        return await query_or_none(call, self._settings.api_query_timeout_s)

    def next_round(self) -> asyncio.Task[None]:
        """The next look at the run, shared by all who wait for news: started if none is due."""
        if self._round is None or self._round.done():
            self._round = asyncio.create_task(self._wait_and_poll())
        return self._round

    def stop(self) -> None:
        """The last subscriber left: no more polling."""
        for task in (self._round, self._opened, self._started):
            if task is not None and not task.done():
                task.cancel()

    async def _wait_and_poll(self) -> None:
        await asyncio.sleep(self._delay)
        self._delay = min(self._delay * 2, self._settings.events_poll_max_s)
        await self._poll()

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
        if self._temporal_down:
            self._temporal_down = False
            self.note = ""  # a stream that joins now has no outage to hear of
        closed = desc.status != WorkflowExecutionStatus.RUNNING
        # Every change to the log happens in a workflow task, which grows the history; an
        # unchanged history means unchanged events, so the (worker-bound) query is skipped.
        if closed or self._worker_missing or desc.history_length != self._seen_history:
            await self._read_log(desc)

    async def _read_log(self, desc: WorkflowExecutionDescription) -> None:
        closed = desc.status != WorkflowExecutionStatus.RUNNING
        status = desc.status.name if desc.status is not None else None
        if closed and self.archive is not None:
            stored = await self.archive.load()
            if stored is not None:  # the whole log, as the run left it: nothing to query
                self._take(stored)
                return
        try:
            page = await self._query(self.last_seq)
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
                self._say("no worker answered; events resume when one does")
            return
        if self._worker_missing:
            self._worker_missing = False
            self.note = ""
        self._seen_history = desc.history_length
        self._take(page)
        if not page.finished and closed:
            # Terminated or timed out: the workflow never got to write its `finished` event.
            self._end("closed", f"the run closed ({status}) without a finished event", status)

    def _take(self, page: EventsPage) -> None:
        if not self._read:  # the first read: the log starts where it does, or where asked
            self._read = True
            self.base = max(self.base, page.last_seq - len(page.events))
        fresh = [e for e in page.events if e.seq > self.last_seq]
        if fresh:
            self.events.extend(fresh)
            self._delay = self._settings.events_poll_min_s
        if page.finished:
            self.done = True

    def _end(self, reason: str, message: str, status: str | None = None) -> None:
        self.end = (reason, message, status)
        self.done = True

    def _say(self, text: str) -> None:
        self.note = text
        self.notes += 1

    def _note_outage(self, text: str) -> None:
        if not self._temporal_down:
            self._temporal_down = True
            self._say(text)


class FeedHub:
    """The RunFeed of each run that has streams open in this process, by workflow id."""

    def __init__(self) -> None:
        self._feeds: dict[str, RunFeed] = {}

    def join(
        self, handle: RunHandle, settings: Settings, archive: EventArchive | None, after: int = 0
    ) -> RunFeed:
        """The run's feed, started at `after` (the first stream's resume point) if new."""
        feed = self._feeds.get(handle.id)
        if feed is None:
            feed = self._feeds[handle.id] = RunFeed(handle, settings, archive, after)
        feed.subscribers += 1
        return feed

    def leave(self, feed: RunFeed) -> None:
        feed.subscribers -= 1
        if feed.subscribers <= 0:
            feed.stop()
            if self._feeds.get(feed.handle.id) is feed:
                del self._feeds[feed.handle.id]

    def __len__(self) -> int:
        return len(self._feeds)
