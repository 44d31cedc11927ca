"""A research run that searches a stub SearXNG and reads stub pages, on the real dev server.

The worker is built from settings exactly as in production (`build_activities`), with SearXNG
configured next to the local documents; only the web is fake, and it sits on loopback, which is
why this test turns `allow_private_fetch` on.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from temporalio.client import Client

from domain.run import RunOptions, RunStatus
from domain.state import ResearchInput
from providers.artifacts import ArtifactStore
from settings import Settings
from tests.fakes.faults import FaultPlan
from tests.fakes.llm_server import FakeLLM
from tests.fakes.web_server import StubWeb
from worker import build_activities, build_worker
from workflows.research import ResearchWorkflow
from workflows.search_attributes import research_workflow_id


@pytest.fixture(scope="module")
def web() -> Iterator[StubWeb]:
    stub = StubWeb().start()
    stub.searxng_results = [
        {"url": f"{stub.base_url}/article.html", "title": "Flywheels", "content": "rotors"},
        {"url": f"{stub.base_url}/paper.pdf", "title": "CAES paper", "content": "caverns"},
    ]
    yield stub
    stub.stop()


def with_searxng(settings: Settings, web: StubWeb, task_queue: str) -> Settings:
    """Local documents and the stub SearXNG (on loopback, hence private fetches allowed)."""
    return settings.model_copy(
        update={
            "task_queue": task_queue,
            "search_providers": ["local", "searxng"],
            "searxng_url": web.base_url,
            "allow_private_fetch": True,
        }
    )


async def run_once(
    client: Client, settings: Settings, sources: list[str] | None = None
) -> tuple[RunStatus, list[dict], int]:
    run_id = f"web-{uuid.uuid4().hex[:10]}"
    options = RunOptions(
        clarify=False, require_acceptance=False, depth=1, breadth=2, sources=sources
    )
    handle = await client.start_workflow(
        ResearchWorkflow.run,
        ResearchInput(run_id=run_id, question="How is grid energy stored?", options=options),
        id=research_workflow_id(run_id),
        task_queue=settings.task_queue,
    )
    final = await asyncio.wait_for(handle.result(), timeout=120)
    assert final.sources_ref is not None
    sources = ArtifactStore(settings.artifacts_dir).read_json(final.sources_ref)
    listed = sources["sources"] if isinstance(sources, dict) else sources
    return final.status, listed, final.progress.sources_failed


async def test_run_mixes_web_and_local_sources(
    client: Client, settings: Settings, llm: FakeLLM, web: StubWeb
) -> None:
    web_settings = with_searxng(settings, web, "research-web-tests")
    activities = await asyncio.to_thread(build_activities, web_settings)
    async with build_worker(client, web_settings, activities):
        status, sources, failed = await run_once(client, web_settings)
        by_provider = {(s["provider"], s["title"]) for s in sources}
        assert ("searxng", "Flywheels store grid energy") in by_provider
        assert ("searxng", "paper") in by_provider
        assert any(provider == "local" for provider, _ in by_provider)
        assert failed == 0 and status == RunStatus.completed
        assert web.hits["/search"] == 2  # one per query
        assert web.hits["/article.html"] == 1  # both queries found it; it was read once

        # A second run reads the same pages from the cache: the stub sees no new page request.
        status, sources, _ = await run_once(client, web_settings)
        assert ("searxng", "Flywheels store grid energy") in {
            (s["provider"], s["title"]) for s in sources
        }
        assert web.hits["/article.html"] == 1 and web.hits["/paper.pdf"] == 1

        # options.sources picks the providers per run: web only, then local only.
        _, sources, _ = await run_once(client, web_settings, sources=["web"])
        assert sources and {s["provider"] for s in sources} == {"searxng"}
        _, sources, _ = await run_once(client, web_settings, sources=["local"])
        assert sources and {s["provider"] for s in sources} == {"local"}


async def test_a_search_outage_leaves_a_gap_instead_of_failing_the_run(
    client: Client, settings: Settings, llm: FakeLLM, web: StubWeb
) -> None:
    outage_settings = with_searxng(settings, web, "research-web-outage")
    web.faults["/search"] = FaultPlan(rate=1.0, kinds=("500",))
    try:
        activities = await asyncio.to_thread(build_activities, outage_settings)
        async with build_worker(client, outage_settings, activities):
            run_id = f"web-{uuid.uuid4().hex[:10]}"
            options = RunOptions(
                clarify=False, require_acceptance=False, depth=1, breadth=1, sources=["web"]
            )
            handle = await client.start_workflow(
                ResearchWorkflow.run,
                ResearchInput(
                    run_id=run_id, question="How is grid energy stored?", options=options
                ),
                id=research_workflow_id(run_id),
                task_queue=outage_settings.task_queue,
            )
            final = await asyncio.wait_for(handle.result(), timeout=120)
            events = await handle.query(ResearchWorkflow.get_events, 0)
    finally:
        del web.faults["/search"]
    # Every try of the only provider failed (five per query): the run says so and ends with gaps.
    assert final.status == RunStatus.completed_with_gaps
    assert final.progress.searches_failed >= 1 and final.progress.sources_read == 0
    assert "search_failed" in {e.type for e in events.events}
    assert web.faults == {} and llm.count("ReportDraft") == 1
