"""Plan edits through the REST API on the real stack (dev server, worker, scripted model).

A reviewer accepts the drafted plan with items reworded and added; the run researches the
edited plan (its queries come from the new items), the edit is recorded once as `plan_edited`
and a repeat of the request gets the first result. Bad plans, and a plan sent at report review,
are refused with their error codes and change nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from api.deps import get_temporal_client
from api.main import create_app
from cli.ask import EXIT_API_ERROR, EXIT_USAGE
from domain.plan import plan_lines, plan_text
from settings import Settings
from tests.fakes.llm_server import FakeLLM
from tests.helpers.frontends import RUNS, Cli, code, handle_of, ok, one_line_error, pending, poll
from tests.live import ThreadedApi
from workflows.research import ResearchWorkflow

QUESTION = "What are the main ways to store energy on the power grid?"
NEW_ITEMS = [
    "Flywheel spinning reserve response times",
    "Sodium sulfur battery lifetimes",
    "Storage tenders by grid operators",
]


@pytest.fixture
async def api(client: Client, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    app.dependency_overrides[get_temporal_client] = lambda: client
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        yield http


async def test_an_edited_plan_is_researched_and_recorded_once(
    api: httpx.AsyncClient, client: Client, worker: Worker, llm: FakeLLM, run_id: str
) -> None:
    # No model queries: each round's queries are then built from the plan's own items
    # (activities/fallbacks.py), so the queries searched show which plan the run followed.
    llm.reset(queries=[])
    options = {"clarify": False, "require_plan_approval": True, "depth": 1, "breadth": 5}
    resp = await api.post(RUNS, json={"question": QUESTION, "run_id": run_id, "options": options})
    assert resp.status_code == 202, resp.text
    view = await poll(api, run_id, pending("plan"))
    drafted = plan_lines(view["plan"])
    assert len(drafted) == 3, view["plan"]
    acceptance = f"{RUNS}/{run_id}/acceptance"

    bad_plans = [
        ({"accepted": True, "plan": []}, (422, "invalid_plan")),
        ({"accepted": True, "plan": [f"item no {n}" for n in range(13)]}, (422, "invalid_plan")),
        ({"accepted": True, "plan": ["a fine item", " 2. ab "]}, (422, "invalid_plan")),
        ({"accepted": True, "plan": ["x" * 301]}, (422, "invalid_plan")),
        ({"accepted": False, "comment": "redo", "plan": NEW_ITEMS}, (422, "invalid_decision")),
        ({"accepted": True, "plan": "one item"}, (422, "invalid_request")),
        ({"accepted": True, "plan": ["an item"] * 51}, (422, "invalid_request")),
    ]
    for body, expected in bad_plans:
        assert code(await api.post(acceptance, json=body)) == expected, body
    view = await poll(api, run_id, pending("plan"))
    assert plan_lines(view["plan"]) == drafted  # nothing refused changed the plan

    # The first item kept, the other two reworded, one added.
    edited = [drafted[0], *NEW_ITEMS]
    body = {"accepted": True, "plan": edited, "decided_by": "ana", "request_id": "edit-1"}
    first = await api.post(acceptance, json=body)
    assert first.status_code == 200, first.text
    assert first.json() == {"accepted": True, "subject": "plan", "revision": 0, "replayed": False}
    # The repeat is the same Temporal update (its id comes from the request id), so the server
    # answers it with the first result as it was.
    again = await api.post(acceptance, json=body)
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    # The same request id with another plan is refused, not applied as a second edit.
    other = await api.post(acceptance, json=body | {"plan": NEW_ITEMS})
    assert code(other) == (409, "request_id_reused"), other.text

    view = await poll(api, run_id, pending("report"))
    assert view["plan"] == plan_text(edited)
    # A plan is not taken at report review.
    late = await api.post(acceptance, json={"accepted": True, "plan": NEW_ITEMS})
    assert code(late) == (409, "wrong_stage"), late.text
    resp = await api.post(acceptance, json={"accepted": True})
    assert resp.status_code == 200, resp.text
    final = await poll(api, run_id, lambda v: v["status"] in ("completed", "completed_with_gaps"))
    assert final["plan"] == plan_text(edited)

    events = (await handle_of(client, run_id).query(ResearchWorkflow.get_events, 0)).events
    edits = [e for e in events if e.type == "plan_edited"]
    assert len(edits) == 1, edits
    assert edits[0].data == {"by": "ana", "items": 4, "added": 1, "removed": 0, "changed": 2}
    queries = [e.data["query"] for e in events if e.type == "query_issued"]
    for word in ("flywheel", "sodium", "tenders"):
        assert any(word in q for q in queries), (word, queries)
    # The drafted items that were reworded ("Costs and limits of", "Write ... a citation")
    # gave no query: the run followed the edited plan, not the draft.
    assert not any("costs" in q or "citation" in q for q in queries), queries


async def test_the_cli_accepts_an_edited_plan(
    cli: Cli, live_api: ThreadedApi, worker: Worker, llm: FakeLLM, run_id: str, tmp_path: Path
) -> None:
    options = {"clarify": False, "require_plan_approval": True, "require_acceptance": False}
    async with httpx.AsyncClient(base_url=live_api.url) as api:
        body = {"question": QUESTION, "run_id": run_id, "options": options | {"depth": 1}}
        assert (await api.post(RUNS, json=body)).status_code == 202
        await poll(api, run_id, pending("plan"))
        ok(await cli("status", run_id), "--plan-file FILE")

        plan_file = tmp_path / "plan.txt"
        plan_file.write_text("1. " + NEW_ITEMS[0] + "\n\n- " + NEW_ITEMS[1] + "\n")
        both = await cli("accept", run_id, "--plan", "x", "--plan-file", str(plan_file))
        one_line_error(both, EXIT_USAGE, "give --plan items or --plan-file")
        short = await cli("accept", run_id, "--plan", "ab")
        one_line_error(short, EXIT_API_ERROR, "the API refused: invalid_plan")
        ok(await cli("accept", run_id, "--plan-file", str(plan_file)), "edited to 2 items")

        final = await poll(api, run_id, lambda v: v["status"].startswith("completed"))
        assert final["plan"] == plan_text(NEW_ITEMS[:2])
