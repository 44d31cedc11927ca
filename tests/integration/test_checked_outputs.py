"""The model proposes, the code checks: a junk plan on the real stack (dev server, worker, API).

The scripted model answers the plan request with junk twice (what SmolLM2-135M wrote in issue
12); the run's plan is then the fallback built from the question, readable in the status the
API serves, and the run goes on to read sources and finish.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from api.deps import get_temporal_client
from api.main import create_app
from settings import Settings
from tests.fakes.llm_server import FakeLLM
from tests.helpers.frontends import RUNS, pending, poll

QUESTION = "What are the main ways to store energy on the power grid?"
JUNK_PLANS = ["1. 2018: 5\n2. 2019: 6\n3. 2020: 7", "## 1\n2018: 5 }, [2][3]"]
FALLBACK = (
    "1. Key facts about the main ways to store energy on the power grid\n"
    "2. Examples and figures for the main ways to store energy on the power grid\n"
    "3. Costs, limits and trade-offs of the main ways to store energy on the power grid"
)
LLM_KINDS = ("QuestionsDraft", "text", "QueriesDraft", "NotesDraft", "GapsDraft", "ReportDraft")


@pytest.fixture
async def api(client: Client, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    app.dependency_overrides[get_temporal_client] = lambda: client
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        yield http


async def test_a_junk_plan_falls_back_and_the_run_goes_on(
    api: httpx.AsyncClient, worker: Worker, llm: FakeLLM, run_id: str
) -> None:
    llm.reset(plans=list(JUNK_PLANS))
    options = {
        "clarify": False,
        "require_plan_approval": True,
        "require_acceptance": False,
        "depth": 1,
        "breadth": 2,
    }
    resp = await api.post(RUNS, json={"question": QUESTION, "run_id": run_id, "options": options})
    assert resp.status_code == 202, resp.text

    view = await poll(api, run_id, pending("plan"))
    assert view["plan"] == view["pending"]["content"] == FALLBACK
    # Readable: numbered lines of words, no dates, numbers or debris after the number.
    assert all(re.fullmatch(r"\d\. [A-Z][A-Za-z ,-]+", line) for line in view["plan"].split("\n"))
    # The junk plan was asked for, re-asked once with what was wrong, then replaced.
    assert llm.count("text") == 2 and not llm.script.plans
    resp = await api.post(f"{RUNS}/{run_id}/acceptance", json={"accepted": True})
    assert resp.status_code == 200, resp.text

    final = await poll(api, run_id, lambda v: v["status"] in ("completed", "completed_with_gaps"))
    assert final["plan"] == FALLBACK
    assert final["progress"]["sources_read"] >= 1 and final["progress"]["notes"] >= 1
    # The re-ask is paid for and counted like every other call.
    assert final["usage"]["llm_calls"] == sum(llm.count(kind) for kind in LLM_KINDS)
    report = await api.get(f"{RUNS}/{run_id}/report")
    assert report.status_code == 200 and "2018" not in report.text
