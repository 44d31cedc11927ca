"""A finished run stores its event log, and `/events` serves the closed run from it: no worker
is needed (a query on a closed run would replay its whole history on one)."""

from __future__ import annotations

import asyncio

import httpx
from temporalio.client import Client

from cli.sse import SseParser
from domain.run import RunEvent, RunOptions
from domain.state import ResearchInput
from providers.artifacts import ArtifactStore, run_key
from settings import Settings
from tests.fakes.llm_server import FakeLLM
from tests.live import RUNS, ThreadedApi, as_event, assert_complete, read_events
from worker import build_activities, build_worker
from workflows.event_log import FINAL_LOG_NAME
from workflows.research import ResearchWorkflow
from workflows.search_attributes import research_workflow_id

HANDS_OFF = RunOptions(clarify=False, require_acceptance=False, depth=1, breadth=2)


async def test_a_closed_run_is_served_from_its_stored_log_with_no_worker_running(
    live_api: ThreadedApi, settings: Settings, llm: FakeLLM, client: Client, run_id: str
) -> None:
    # A worker of this test's own, on a queue of its own, so that it can be gone afterwards.
    own = settings.model_copy(update={"task_queue": f"own-{run_id}"})
    url = f"{RUNS}/{run_id}/events"
    async with (
        build_worker(client, own, await asyncio.to_thread(build_activities, own)),
        httpx.AsyncClient(base_url=live_api.url, timeout=60) as http,
    ):
        handle = await client.start_workflow(
            ResearchWorkflow.run,
            ResearchInput(run_id=run_id, question="How is grid energy stored?", options=HANDS_OFF),
            id=research_workflow_id(run_id),
            task_queue=own.task_queue,
        )
        live = await read_events(http, url, None, None)  # the live stream, to `finished`
        await handle.result()
    assert_complete(live)
    stored = ArtifactStore(settings.artifacts_dir).read_json(run_key(run_id, FINAL_LOG_NAME))
    assert stored["workflow_id"] == handle.id and stored["finished"]
    assert [RunEvent.model_validate(e) for e in stored["events"]] == live
    # No worker polls that queue now: a query would go unanswered and end in `log_unavailable`.
    async with httpx.AsyncClient(base_url=live_api.url, timeout=60) as http:
        whole = await http.get(url)
        resumed = await http.get(url, headers={"Last-Event-ID": str(live[2].seq)})
        done = await http.get(url, headers={"Last-Event-ID": str(live[-1].seq)})
    for resp, expected in ((whole, live), (resumed, live[3:])):
        assert resp.status_code == 200, resp.text
        messages = list(SseParser().messages(resp.text.split("\n")))
        assert not [m for m in messages if m.event == "end"], resp.text  # nothing left unsaid
        comments = [m.comment for m in messages if m.comment is not None]
        assert not [c for c in comments if c.startswith("no worker")]
        assert [as_event(m) for m in messages if m.comment is None] == expected
    assert done.status_code == 204
    assert stored["pages"] == []  # a short log: one page
