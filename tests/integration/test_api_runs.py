"""The REST facade end to end: real Temporal dev server, real worker, scripted LLM."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from api.deps import get_temporal_client
from api.main import create_app
from settings import Settings
from tests.fakes.llm_server import FakeLLM
from tests.helpers.frontends import FAST, RUNS, code, pending, poll
from workflows.search_attributes import approval_workflow_id, research_workflow_id


@pytest.fixture
async def api(client: Client, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    app.dependency_overrides[get_temporal_client] = lambda: client
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        yield http


def status_in(*statuses: str) -> Callable[[dict[str, Any]], bool]:
    return lambda v: v["status"] in statuses


async def test_full_run_over_http(api, worker: Worker, llm: FakeLLM, run_id: str) -> None:
    resp = await api.post(
        RUNS, json={"question": "How is grid energy stored?", "run_id": run_id, "options": FAST}
    )
    assert resp.status_code == 202, resp.text
    created = resp.json()
    assert created["run_id"] == run_id and resp.headers["Location"] == f"{RUNS}/{run_id}"
    assert created["report_url"] == f"{RUNS}/{run_id}/report"
    dup = await api.post(RUNS, json={"question": "again", "run_id": run_id})
    assert code(dup) == (409, "run_exists")

    await poll(api, run_id, pending("clarification"))
    assert (await api.get(f"{RUNS}/{run_id}")).headers["X-Status-Source"] == "query"
    wrong = await api.post(f"{RUNS}/{run_id}/acceptance", json={"accepted": True})
    assert code(wrong) == (409, "wrong_stage")
    unknown = await api.post(f"{RUNS}/{run_id}/clarification", json={"answers": {"q9": "x"}})
    assert code(unknown) == (422, "unknown_question")
    answer = {"answers": {"q1": "the last decade", "q2": "Europe"}, "request_id": "a1"}
    resp = await api.post(f"{RUNS}/{run_id}/clarification", json=answer)
    assert resp.status_code == 200, resp.text

    view = await poll(api, run_id, pending("report"))
    assert view["pending"]["content"].startswith("# Report")  # the text, not just its ref
    assert "content_html" not in view["pending"]  # only when asked for: the JSON is as it was
    rendered = (await api.get(f"{RUNS}/{run_id}", params={"pending_html": "true"})).json()
    assert rendered["pending"]["content_html"].startswith("<h2>Report")
    assert code(await api.get(f"{RUNS}/{run_id}/report")) == (409, "run_not_finished")
    reject = {"accepted": False, "comment": "say more about costs", "request_id": "d0"}
    resp = await api.post(f"{RUNS}/{run_id}/acceptance", json=reject)
    assert resp.status_code == 200 and resp.json()["accepted"] is False, resp.text
    view = await poll(api, run_id, lambda v: pending("report")(v) and v["pending"]["revision"] == 1)
    assert view["pending"]["content"].startswith("# Revised report")
    assert llm.count("ReportDraft") == 2
    accept = {"accepted": True, "comment": "good", "request_id": "d1"}
    first = await api.post(f"{RUNS}/{run_id}/acceptance", json=accept)
    assert first.status_code == 200 and first.json()["accepted"] is True
    again = await api.post(f"{RUNS}/{run_id}/acceptance", json=accept)
    assert again.status_code == 200 and again.json()["revision"] == first.json()["revision"]

    final = await poll(api, run_id, status_in("completed", "completed_with_gaps"))
    assert final["report_ref"] and final["finished_at"]
    md = await api.get(f"{RUNS}/{run_id}/report")
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    html = await api.get(f"{RUNS}/{run_id}/report", params={"format": "html"})
    assert html.status_code == 200 and "<h" in html.text
    js = await api.get(f"{RUNS}/{run_id}/report", params={"format": "json"})
    assert js.status_code == 200 and js.json()["markdown"] == md.text and js.json()["sections"]
    sources = await api.get(f"{RUNS}/{run_id}/sources")
    assert sources.status_code == 200, sources.text
    numbers = {s["number"] for s in sources.json()}
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", md.text)}
    assert cited and cited <= numbers  # every citation resolves to a source the run read
    citations = js.json()["citations"]
    assert {c["number"] for c in citations} == cited and all(c["title"] for c in citations)
    assert all(f'data-cite="{n}"' in js.json()["html"] for n in cited)  # buttons for the page
    assert all(f'href="#source-{n}"' in html.text for n in cited)
    assert final["status"] == "completed" and final["progress"]["revisions"] == 1

    late = await api.post(f"{RUNS}/{run_id}/acceptance", json={"accepted": True})
    assert code(late) == (409, "run_finished")
    assert code(await api.post(f"{RUNS}/{run_id}/stop")) == (409, "run_finished")
    assert code(await api.post(f"{RUNS}/{run_id}/cancel")) == (409, "run_finished")

    listed = await api.get(RUNS, params={"status": final["status"], "page_size": 200})
    assert listed.status_code == 200
    assert run_id in {r["run_id"] for r in listed.json()["runs"]}


async def test_cancel_and_stop_over_http(api, worker: Worker, llm: FakeLLM) -> None:
    ids = [f"t-cs-{time.monotonic_ns()}", f"t-st-{time.monotonic_ns()}"]
    for run_id in ids:
        resp = await api.post(RUNS, json={"question": "Q?", "run_id": run_id, "options": FAST})
        assert resp.status_code == 202
        await poll(api, run_id, pending("clarification"))
    resp = await api.post(f"{RUNS}/{ids[0]}/cancel")
    assert resp.status_code == 202 and resp.json()["action"] == "cancel"
    view = await poll(api, ids[0], status_in("cancelled"))
    assert view["stage"] == "finished" or view["pending"] is None
    resp = await api.post(f"{RUNS}/{ids[1]}/stop", json={"reason": "enough"})
    assert resp.status_code == 202
    stopped = await poll(api, ids[1], status_in("stopped", "completed_with_gaps"))
    if stopped["report_ref"] is None:
        assert code(await api.get(f"{RUNS}/{ids[1]}/report")) == (409, "no_report")


async def test_unknown_run_is_not_found(api, worker: Worker) -> None:
    for method, suffix, body in [
        ("GET", "", None),
        ("POST", "/acceptance", {"accepted": True}),
        ("POST", "/clarification", {"skip": True}),
        ("POST", "/stop", None),
        ("POST", "/cancel", None),
        ("GET", "/report", None),
    ]:
        resp = await api.request(method, f"{RUNS}/never-started{suffix}", json=body)
        assert code(resp) == (404, "run_not_found"), (suffix, resp.text)


async def test_status_without_a_worker_comes_from_memo(
    client: Client, settings: Settings, run_id: str
) -> None:
    # A task queue no worker polls: queries time out, the memo and describe() answer.
    lonely = settings.model_copy(
        update={"task_queue": f"nobody-{run_id}", "api_query_timeout_s": 1}
    )
    app = create_app(lonely)
    app.dependency_overrides[get_temporal_client] = lambda: client
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
    ) as api:
        assert (await api.post(RUNS, json={"question": "Q?", "run_id": run_id})).status_code == 202
        resp = await api.get(f"{RUNS}/{run_id}")
        assert resp.status_code == 200 and resp.headers["X-Status-Source"] == "memo"
        assert resp.json()["status"] == "queued" and resp.json()["question"] == "Q?"
        await client.get_workflow_handle(research_workflow_id(run_id)).terminate("test")
        resp = await api.get(f"{RUNS}/{run_id}")
        assert resp.json()["status"] == "failed" and resp.json()["finish_reason"] == "terminated"
        failed = await api.get(RUNS, params={"status": "failed", "page_size": 200})
        assert run_id in {r["run_id"] for r in failed.json()["runs"]}
        created = await api.post("/api/v1/approvals", json={"approval_id": run_id, "title": "T"})
        assert created.status_code == 202
        view = await api.get(f"/api/v1/approvals/{run_id}")
        assert view.status_code == 200 and view.json()["status"] == "pending"
        await client.get_workflow_handle(approval_workflow_id(run_id)).terminate("test")
        view = await api.get(f"/api/v1/approvals/{run_id}")
        assert view.status_code == 200 and view.json()["status"] == "cancelled"


async def test_list_pages(api, worker: Worker, llm: FakeLLM) -> None:
    started = []
    for _ in range(2):
        resp = await api.post(RUNS, json={"question": "Q?", "options": FAST})
        started.append(resp.json()["run_id"])
    first = await api.get(RUNS, params={"page_size": 1})
    assert first.status_code == 200 and len(first.json()["runs"]) == 1
    token = first.json()["next_page_token"]
    assert token
    second = await api.get(RUNS, params={"page_size": 1, "page_token": token})
    assert second.status_code == 200
    assert second.json()["runs"][0]["run_id"] != first.json()["runs"][0]["run_id"]
    assert code(await api.get(RUNS, params={"page_token": "Z2FyYmFnZQ"})) == (
        422,
        "invalid_request",
    )


async def test_approval_over_http(api, worker: Worker, run_id: str) -> None:
    resp = await api.post("/api/v1/approvals", json={"approval_id": run_id, "title": "Ship it?"})
    assert resp.status_code == 202, resp.text
    dup = await api.post("/api/v1/approvals", json={"approval_id": run_id, "title": "again"})
    assert code(dup) == (409, "approval_exists")
    view = await api.get(f"/api/v1/approvals/{run_id}")
    assert view.status_code == 200 and view.json()["status"] == "pending"
    decided = await api.post(f"/api/v1/approvals/{run_id}/decision", json={"accepted": True})
    assert decided.status_code == 200, decided.text
    for _ in range(50):
        view = await api.get(f"/api/v1/approvals/{run_id}")
        if view.json()["status"] != "pending":
            break
        await asyncio.sleep(0.1)
    assert view.json()["status"] == "accepted"
    late = await api.post(f"/api/v1/approvals/{run_id}/decision", json={"accepted": False})
    assert code(late) == (409, "approval_finished")
    assert code(await api.get("/api/v1/approvals/none-such")) == (404, "approval_not_found")


async def test_ready_with_worker(api, worker: Worker) -> None:
    resp = await api.get("/api/v1/ready")
    assert resp.status_code == 200 and resp.json()["worker_polling"] is True
    flows = await api.get("/api/v1/workflows")
    assert [f["name"] for f in flows.json()["flows"]] == ["research", "approval"]
