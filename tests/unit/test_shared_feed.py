"""One feed per run: concurrent streams share one reading of the run, slow ones fall out alone,
and a closed run is served from the log it stored, without asking the workflow.

Costs are counted at the client boundary (the scripted handle counts describes and queries).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from api.event_archive import EventArchive
from api.event_feed import End, EventFeed, FeedItem
from api.run_feed import FeedHub
from domain.run import RunEvent
from providers.artifacts import ArtifactStore, run_key
from settings import Settings
from tests.helpers.scripted_run import ScriptedRun
from workflows import event_log
from workflows.event_log import FINAL_LOG_NAME, final_log_saves
from workflows.search_attributes import artifact_folder

QUICK = Settings(
    _env_file=None, events_poll_min_s=0.001, events_poll_max_s=0.01, api_query_timeout_s=1
)
STREAMS = 8


def stream(run: ScriptedRun, hub: FeedHub | None, after: int = 0, **kw: Any) -> EventFeed:
    settings = QUICK.model_copy(update=kw) if kw else QUICK
    return EventFeed(run, settings, after, None, hub=hub)  # type: ignore[arg-type]


async def drain(feed: EventFeed) -> list[FeedItem]:
    await feed.open()
    return [item async for item in feed.items()]


async def watch(run: ScriptedRun, hub: FeedHub | None) -> list[list[FeedItem]]:
    """STREAMS concurrent streams of a run that grows for a while, then finishes."""
    tasks = [asyncio.create_task(drain(stream(run, hub))) for _ in range(STREAMS)]
    for step in range(5):
        await asyncio.sleep(0.03)
        run.add(f"step-{step}")
    await asyncio.sleep(0.03)
    run.finish()
    return await asyncio.wait_for(asyncio.gather(*tasks), 5)


async def test_concurrent_streams_of_a_run_cost_one_feed_not_one_each() -> None:
    shared, private = ScriptedRun(), ScriptedRun()
    shared.add("started")
    private.add("started")
    hub = FeedHub()
    got = await watch(shared, hub)
    separate = await watch(private, None)  # what every stream did before: a poller each
    expected = [e.seq for e in shared.events]
    for items in got + separate:
        assert [i.seq for i in items if isinstance(i, RunEvent)] == expected
    # The six changes of the log each need one query, whatever the audience; a few spare for
    # timing. Eight separate pollers read at least eight times as often.
    assert shared.queries <= 6 + 3, shared.queries
    assert private.queries >= STREAMS * 6, private.queries
    assert shared.describes * 4 < private.describes, (shared.describes, private.describes)
    assert len(hub) == 0  # the poller went with its last stream


async def test_a_stream_that_joins_later_gets_its_backlog_from_the_shared_log() -> None:
    run = ScriptedRun()
    run.add("a", "b", "c")
    hub = FeedHub()
    first = stream(run, hub)
    await first.open()
    items = first.items()
    assert (await anext(items)).seq == 1  # type: ignore[union-attr]
    late = stream(run, hub, after=1)
    await late.open()  # joins the open feed: no look of its own
    backlog = late.items()
    assert [(await anext(backlog)).seq for _ in range(2)] == [2, 3]  # type: ignore[union-attr]
    assert (run.describes, run.queries) == (1, 1)
    await items.aclose()
    await backlog.aclose()
    assert len(hub) == 0


async def test_a_slow_stream_does_not_stall_the_others_and_is_ended_to_resume() -> None:
    run = ScriptedRun()
    run.add("a")
    hub = FeedHub()
    slow = stream(run, hub, events_max_lag=3)
    await slow.open()
    held = slow.items()
    assert (await anext(held)).seq == 1  # type: ignore[union-attr]
    fast = asyncio.create_task(drain(stream(run, hub)))
    for step in range(6):  # the slow stream takes nothing while these come in
        await asyncio.sleep(0.02)
        run.add(f"step-{step}")
    run.finish()
    fast_items = await asyncio.wait_for(fast, 5)  # it finished without waiting for the slow one
    assert [i.seq for i in fast_items if isinstance(i, RunEvent)] == list(range(1, 9))
    end = await anext(held)
    assert isinstance(end, End) and (end.reason, end.last_seq) == ("lagging", 1)
    await held.aclose()
    rest = await drain(stream(run, hub, after=end.last_seq))  # Last-Event-ID resumes exactly
    assert [i.seq for i in rest if isinstance(i, RunEvent)] == list(range(2, 9))


def store_final_log(store: ArtifactStore, run: ScriptedRun, folder: str | None = None) -> None:
    """What the workflow does as it finishes (research.py), with the same saves, into the run's
    own folder unless `folder` says otherwise."""
    for name, data in final_log_saves(run.page(), run.id):
        store.write_json(run_key(folder or artifact_folder(run.id), name), data)


async def test_a_closed_run_is_served_from_its_stored_log_without_the_workflow(
    tmp_path: Path,
) -> None:
    run = ScriptedRun("research-r1")
    run.add("a", "b")
    watching = asyncio.create_task(drain(stream(run, FeedHub())))  # the live stream, as it ran
    await asyncio.sleep(0.02)
    run.finish()
    live = await asyncio.wait_for(watching, 5)
    store = ArtifactStore(tmp_path)
    store_final_log(store, run, "r1")
    run.worker = False  # and no worker is left to replay it
    queries = run.queries
    archive = EventArchive(store, "r1", run.id)
    closed = EventFeed(run, QUICK, 0, None, archive=archive)  # type: ignore[arg-type]
    got = await drain(closed)
    assert got == live == run.events and run.queries == queries
    resumed = EventFeed(run, QUICK, 2, None, archive=archive)  # type: ignore[arg-type]
    assert await drain(resumed) == run.events[2:]
    done = EventFeed(run, QUICK, 3, None, archive=archive)  # type: ignore[arg-type]
    await done.open()
    assert done.exhausted and run.queries == queries  # the route answers 204


async def test_a_log_of_another_workflow_or_none_falls_back_to_the_query(tmp_path: Path) -> None:
    run = ScriptedRun("research-r1")
    run.finish()
    store = ArtifactStore(tmp_path)
    assert await EventArchive(store, "r1", run.id).load() is None  # closed before this change
    # Same REST id, other owner, in the folder runs used before ids were scoped by owner.
    store_final_log(store, ScriptedRun("research-r1~grace"), "r1")
    feed = EventFeed(run, QUICK, 0, None, archive=EventArchive(store, "r1", run.id))  # type: ignore[arg-type]
    assert await drain(feed) == run.events and run.queries == 1


def test_a_long_log_is_saved_in_pages_each_well_under_the_payload_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = ScriptedRun()
    run.add(*[f"event-{n}" for n in range(300)])
    run.finish()
    monkeypatch.setattr(event_log, "PAGE_BYTES", 4000)
    saves = final_log_saves(run.page(), run.id)
    assert len(saves) > 5 and saves[-1][0] == FINAL_LOG_NAME  # the index is written last
    for _, data in saves[:-1]:
        assert len(str(data)) < 2 * 4000
    store = ArtifactStore(tmp_path)
    store_final_log(store, run)
    page = asyncio.run(EventArchive(store, "scripted", run.id).load())
    assert page is not None and page.events == run.events and page.finished


def test_a_real_sized_log_fits_one_page() -> None:
    run = ScriptedRun()
    run.add(*["source_read"] * 1000)  # the most a continued run carries over, and more
    run.finish()
    [(name, data)] = final_log_saves(run.page(), run.id)
    assert name == FINAL_LOG_NAME and len(data["events"]) == 1001


async def test_the_feed_reads_from_the_first_streams_resume_point_and_backfills_for_others() -> (
    None
):
    """A query answer is one payload: a stream resuming near the end of a long log must not
    make the feed pull the whole log; a stream from further back still gets every event."""
    run = ScriptedRun()
    run.add(*[f"e{n}" for n in range(10)])
    run.finish()
    hub = FeedHub()
    late = stream(run, hub, after=9)
    early = stream(run, hub, after=2)
    got_late, got_early = await asyncio.gather(drain(late), drain(early))
    assert got_late == run.events[9:] and got_early == run.events[2:]
    assert run.asked[0] == 9  # the feed's own read starts where its first stream resumes
    assert sorted(run.asked) == [2, 9]  # and one query fetched what the other stream lacked
