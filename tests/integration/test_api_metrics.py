"""The API's /metrics: requests by route and status, latency, SSE streams, runs by status."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from temporalio.client import Client

from api import metrics as api_metrics
from api.deps import get_temporal_client
from api.main import create_app
from domain.run import RunOptions
from domain.state import ResearchInput
from settings import Settings
from tests.helpers import pending_kind, wait_for_status
from workflows.research import ResearchWorkflow
from workflows.search_attributes import research_workflow_id

RUN_ROUTE = "/api/v1/runs/{run_id}"


@pytest.fixture
async def api(client: Client, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    app.dependency_overrides[get_temporal_client] = lambda: client
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        yield http


async def scrape(api: httpx.AsyncClient) -> dict[tuple[str, frozenset], float]:
    resp = await api.get("/api/v1/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(resp.text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_requests_by_route_and_status_and_latency(api: httpx.AsyncClient) -> None:
    before = await scrape(api)
    for _ in range(2):
        assert (await api.get("/api/v1/runs/no-such-run")).status_code == 404
    assert (await api.get("/api/v1/health")).status_code == 200
    after = await scrape(api)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    # Labelled by route template, so ids never multiply the series.
    assert delta("research_api_requests_total", method="GET", route=RUN_ROUTE, status="404") == 2
    assert (
        delta("research_api_requests_total", method="GET", route="/api/v1/health", status="200")
        == 1
    )
    assert delta("research_api_request_duration_seconds_count", method="GET", route=RUN_ROUTE) == 2
    assert ("research_api_sse_streams", frozenset()) in after


async def test_runs_by_status_come_from_visibility(
    api: httpx.AsyncClient,
    client: Client,
    worker,
    settings: Settings,
    llm,
    run_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Visibility counts are cached between scrapes; each scrape here must count afresh.
    monkeypatch.setattr(api_metrics, "RUN_COUNTS_TTL_S", 0.0)
    inp = ResearchInput(run_id=run_id, question="How is grid energy stored?", options=RunOptions())
    handle = await client.start_workflow(
        ResearchWorkflow.run, inp, id=research_workflow_id(run_id), task_queue=settings.task_queue
    )
    await wait_for_status(handle, pending_kind("clarification"))
    waiting = await scrape_until(
        api, lambda s: value(s, "research_runs", status="awaiting_input") >= 1
    )
    assert value(waiting, "research_runs_visibility_up") == 1
    awaiting = value(waiting, "research_runs", status="awaiting_input")
    cancelled = value(waiting, "research_runs", status="cancelled")

    await handle.cancel()
    after = await scrape_until(
        api, lambda s: value(s, "research_runs", status="cancelled") == cancelled + 1
    )
    assert value(after, "research_runs", status="awaiting_input") == awaiting - 1


async def scrape_until(api: httpx.AsyncClient, done: Callable[[dict], bool]) -> dict:
    """Scrape until `done` holds: visibility trails the workflow by a moment."""
    deadline = time.monotonic() + 15
    while True:
        samples = await scrape(api)
        if done(samples) or time.monotonic() > deadline:
            return samples
        await asyncio.sleep(0.3)
