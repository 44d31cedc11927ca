"""Per-provider search queues on the real dev server: rate and concurrency limits, fan-out.

A stub SearXNG on loopback records when each request arrives and leaves; research runs drive
it through the production worker (`build_activities` + `build_worker`). The limits are
Temporal's own: `max_task_queue_activities_per_second` on the provider's task queue, enforced
by the server for every worker polling it, and `max_concurrent_activities` per worker.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime, TelemetryConfig
from temporalio.worker import Replayer

from activities.read import ReadActivities
from activities.search import SearchActivities
from domain.run import RunOptions
from domain.state import ResearchInput
from runtime.temporal import connect
from settings import SearchLimit, Settings
from tests.fakes.llm_server import FakeLLM
from worker import build_activities, build_worker
from workflows.research import ResearchWorkflow
from workflows.search_attributes import research_workflow_id

QUERIES = ["flywheels", "compressed air", "molten salt", "hydrogen storage", "gravity storage"]


class RecordingSearx:
    """A SearXNG `/search` that notes each request's arrival and departure (monotonic s)."""

    def __init__(self) -> None:
        self.delay = 0.0
        self.status = 200
        self.spans: list[tuple[float, float]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                stub.answer(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, h: BaseHTTPRequestHandler) -> None:
        arrived = time.monotonic()
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        time.sleep(self.delay)
        body = json.dumps({"query": "", "results": []}).encode()
        with self.lock:
            self.in_flight -= 1
            self.spans.append((arrived, time.monotonic()))
        h.send_response(self.status)
        h.send_header("content-type", "application/json")
        h.send_header("content-length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def arrivals(self) -> list[float]:
        return sorted(start for start, _ in self.spans)


@pytest.fixture
def searx() -> Iterator[RecordingSearx]:
    stub = RecordingSearx()
    yield stub
    stub.server.shutdown()
    stub.server.server_close()


def limited(settings: Settings, searx: RecordingSearx, **limit: float) -> Settings:
    return settings.model_copy(
        update={
            # A queue of its own: no other test's worker polls it with other limits.
            "task_queue": f"limits-{uuid.uuid4().hex[:8]}",
            "search_providers": ["local", "searxng"],
            "searxng_url": searx.url,
            "search_limits": {"searxng": SearchLimit(**limit)},
        }
    )


async def start_run(client: Client, settings: Settings, sources: list[str]) -> WorkflowHandle:
    run_id = f"lim-{uuid.uuid4().hex[:10]}"
    options = RunOptions(
        clarify=False, require_acceptance=False, depth=1, breadth=len(QUERIES), sources=sources
    )
    return await client.start_workflow(
        ResearchWorkflow.run,
        ResearchInput(run_id=run_id, question="How is grid energy stored?", options=options),
        id=research_workflow_id(run_id),
        task_queue=settings.task_queue,
    )


async def test_two_workers_keep_the_providers_rate_limit(
    client: Client, settings: Settings, llm: FakeLLM, searx: RecordingSearx
) -> None:
    llm.reset(queries=QUERIES)
    per_minute = 120.0  # two requests a second, for all runs on both workers together
    own = limited(settings, searx, per_minute=per_minute, concurrent=4)
    first, second = [await asyncio.to_thread(build_activities, own) for _ in range(2)]
    # A second worker as another process would be: its own connection and SDK runtime (one
    # runtime refuses two workers on one task queue).
    other = await connect(own, runtime=Runtime(telemetry=TelemetryConfig()))
    async with build_worker(client, own, first), build_worker(other, own, second):
        handles = [await start_run(client, own, ["searxng"]) for _ in range(2)]
        await asyncio.wait_for(asyncio.gather(*(h.result() for h in handles)), timeout=120)

    arrivals = searx.arrivals()
    assert len(arrivals) == 2 * len(QUERIES)  # every query of both runs reached the provider
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    print(f"request gaps (s): {[round(g, 2) for g in gaps]}")
    # The server splits a queue's rate over its partitions (4 by default), each a token bucket
    # holding one token: up to 4 requests may leave at once, then the rate holds. So any k
    # consecutive requests span at least (k - 4) / rate seconds; one more for worker jitter.
    # Unlimited, each run's five queries arrive within milliseconds and this fails.
    rate, burst = per_minute / 60, 4 + 1
    for i, j in itertools.combinations(range(len(arrivals)), 2):
        assert j - i + 1 <= rate * (arrivals[j] - arrivals[i]) + burst, gaps
    # Over the whole run, the average stays at the limit.
    assert arrivals[-1] - arrivals[0] >= (len(arrivals) - burst) / rate, gaps


async def test_a_worker_runs_at_most_the_configured_concurrent_searches(
    client: Client, settings: Settings, llm: FakeLLM, searx: RecordingSearx
) -> None:
    llm.reset(queries=QUERIES)
    searx.delay = 0.3  # long enough that unlimited searches would overlap
    own = limited(settings, searx, concurrent=1)
    activities = await asyncio.to_thread(build_activities, own)
    async with build_worker(client, own, activities):
        handle = await start_run(client, own, ["searxng"])
        await asyncio.wait_for(handle.result(), timeout=120)
    assert len(searx.spans) == len(QUERIES)
    assert searx.max_in_flight == 1


async def test_searches_go_to_each_providers_queue_and_one_failing_is_tolerated(
    client: Client, settings: Settings, llm: FakeLLM, searx: RecordingSearx
) -> None:
    queries = ["battery storage", "pumped hydro"]  # both in the local test corpus
    llm.reset(queries=queries)
    searx.status = 401  # SearXNG refuses: a final error for that provider, not for the run
    own = limited(settings, searx)
    activities = await asyncio.to_thread(build_activities, own)
    search = next(fn.__self__ for fn in activities if isinstance(fn.__self__, SearchActivities))
    reader = next(fn.__self__ for fn in activities if isinstance(fn.__self__, ReadActivities))
    async with build_worker(client, own, activities):
        handle = await start_run(client, own, ["local", "web"])
        final = await asyncio.wait_for(handle.result(), timeout=120)
        events = await handle.query(ResearchWorkflow.get_events, 0)
    assert final.progress.sources_read >= 1  # the local documents carried the search
    failed = [e for e in events.events if e.type == "search_failed"]
    assert {(e.data["provider"], e.data["query"]) for e in failed} == {
        ("searxng", q) for q in queries
    }
    scheduled = {
        (a.activity_type.name, a.task_queue.name, json.loads(a.input.payloads[0].data)["provider"])
        async for e in handle.fetch_history_events()
        if e.HasField("activity_task_scheduled_event_attributes")
        for a in [e.activity_task_scheduled_event_attributes]
        if a.activity_type.name == "search.provider"
    }
    assert scheduled == {
        ("search.provider", own.task_queue, "local"),
        ("search.provider", f"{own.task_queue}-search-searxng", "searxng"),
    }
    # The new fan-out and merge replay: the workflow code is deterministic on this path too.
    replayer = Replayer(workflows=[ResearchWorkflow], data_converter=pydantic_data_converter)
    await replayer.replay_workflow(await handle.fetch_history())
    # The worker group closed the web clients (search provider, page reader) when it stopped.
    assert all(p.client.is_closed for p in search.providers if p.name != "local")
    assert reader.web is not None and reader.web.client.is_closed
