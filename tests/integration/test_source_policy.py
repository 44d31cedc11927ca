"""A run's source policy on the real dev server: pinned sources read before the first search,
web hits refused by the deny and allow lists (each an event), the date window sent to SearXNG,
and 422s for policies the API refuses. Only the web is fake: the stub SearXNG on loopback,
reached both as `localhost` and as `127.0.0.1`, which gives the lists two domains to tell apart.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta

import httpx
import pytest
from temporalio.client import Client

from api.deps import get_temporal_client
from api.main import create_app
from domain.run import RunEvent, RunOptions, RunStatus, RunView
from domain.source_policy import SourcePolicy
from domain.state import ResearchInput
from providers.artifacts import ArtifactStore
from settings import Settings
from tests.fakes.llm_server import FakeLLM
from tests.fakes.web_server import StubWeb
from tests.helpers.frontends import RUNS, code
from worker import build_activities, build_worker
from workflows.research import ResearchWorkflow
from workflows.search_attributes import research_workflow_id


@pytest.fixture(scope="module")
def web() -> Iterator[StubWeb]:
    stub = StubWeb().start()
    port = stub.server.server_address[1]
    stub.searxng_results = [
        {"url": f"http://localhost:{port}/article.html", "title": "Flywheels", "content": "r"},
        {"url": f"{stub.base_url}/latin1.html", "title": "Cafe storage", "content": "n"},
        {"url": f"{stub.base_url}/paper.pdf", "title": "CAES paper", "content": "caverns"},
    ]
    yield stub
    stub.stop()


async def run_with(
    client: Client, settings: Settings, policy: SourcePolicy, sources: list[str] | None
) -> tuple[RunView, list[RunEvent], list[dict]]:
    run_id = f"policy-{uuid.uuid4().hex[:10]}"
    options = RunOptions(
        clarify=False,
        require_acceptance=False,
        depth=1,
        breadth=2,
        sources=sources,
        source_policy=policy,
    )
    handle = await client.start_workflow(
        ResearchWorkflow.run,
        ResearchInput(run_id=run_id, question="How is grid energy stored?", options=options),
        id=research_workflow_id(run_id),
        task_queue=settings.task_queue,
    )
    final = await asyncio.wait_for(handle.result(), timeout=120)
    events = (await handle.query(ResearchWorkflow.get_events, 0)).events
    assert final.sources_ref is not None
    listed = ArtifactStore(settings.artifacts_dir).read_json(final.sources_ref)
    return final, events, listed if isinstance(listed, list) else listed["sources"]


def first(events: list[RunEvent], type_: str) -> int:
    return next(i for i, e in enumerate(events) if e.type == type_)


async def test_pinned_first_denied_and_allowed_domains_and_the_window(
    client: Client, settings: Settings, llm: FakeLLM, web: StubWeb
) -> None:
    policy_settings = settings.model_copy(
        update={
            "task_queue": "research-policy-tests",
            "search_providers": ["local", "searxng"],
            "searxng_url": web.base_url,
            "allow_private_fetch": True,  # the stub web is on loopback
        }
    )
    port = web.server.server_address[1]
    paper = f"{web.base_url}/paper.pdf"
    activities = await asyncio.to_thread(build_activities, policy_settings)
    async with build_worker(client, policy_settings, activities):
        # Pinned: a local document and a URL; localhost denied; a window from 10 days ago.
        policy = SourcePolicy(
            pinned=["pumped_hydro.md", paper],
            deny_domains=["LOCALHOST"],
            published_after=date.today() - timedelta(days=10),
        )
        view, events, sources = await run_with(client, policy_settings, policy, None)
        assert view.status != RunStatus.failed and view.progress.sources_failed == 0
        assert sources[0]["source_id"].endswith("pumped_hydro.md")
        assert sources[0]["provider"] == "local"
        assert (sources[1]["url"], sources[1]["provider"]) == (paper, "pinned")
        read = [i for i, e in enumerate(events) if e.type == "source_read"]
        assert first(events, "pinned_reading") < read[0] < read[1] < first(events, "query_issued")
        refused = [e.data for e in events if e.type == "source_refused"]
        article = f"http://localhost:{port}/article.html"
        assert refused == [{"url": article, "reason": "localhost is in the deny list (localhost)"}]
        assert not any("localhost" in s["url"] for s in sources)
        assert [s["url"] for s in sources].count(paper) == 1  # found again, not read again
        assert any(s["url"] == f"{web.base_url}/latin1.html" for s in sources)
        assert web.searches and all(q["time_range"] == ["month"] for q in web.searches)
        ignored = [e.data["provider"] for e in events if e.type == "window_ignored"]
        assert ignored == ["local"]  # said once, though every query asked it

        # An allow list: only localhost is read; a pinned page that is not there is a gap.
        web.searches.clear()
        missing = f"http://localhost:{port}/missing.html"
        policy = SourcePolicy(pinned=[missing], allow_domains=["localhost"])
        view, events, sources = await run_with(client, policy_settings, policy, ["web"])
        assert view.status == RunStatus.completed_with_gaps
        assert [e.message for e in events if e.type == "source_failed"] == [missing]
        assert {s["url"] for s in sources} == {f"http://localhost:{port}/article.html"}
        refused = {e.data["url"]: e.data["reason"] for e in events if e.type == "source_refused"}
        assert set(refused) == {f"{web.base_url}/latin1.html", paper}
        assert set(refused.values()) == {"127.0.0.1 is not in the allow list"}
        assert web.searches and all("time_range" not in q for q in web.searches)
        assert not any(e.type == "window_ignored" for e in events)


@pytest.fixture
async def api(client: Client, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    app.dependency_overrides[get_temporal_client] = lambda: client
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        yield http


@pytest.mark.parametrize(
    ("policy", "error"),
    [
        ({"pinned": ["/etc/passwd"]}, "pinned_path_outside_folders"),
        ({"pinned": ["../outside.md"]}, "invalid_request"),
        ({"deny_domains": ["https://example.org/"]}, "invalid_request"),
        ({"allow_domain": ["example.org"]}, "invalid_request"),
        ({"published_after": "2026-02-01", "published_before": "2026-01-01"}, "invalid_request"),
    ],
)
async def test_the_api_refuses_a_bad_policy_with_422(
    api: httpx.AsyncClient, policy: dict, error: str
) -> None:
    body = {"question": "Q?", "options": {"source_policy": policy}}
    assert code(await api.post(RUNS, json=body)) == (422, error)
