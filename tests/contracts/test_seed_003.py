"""Seed 003, the jobs API, as a client written from the seed's text drives it: submit, stream
`job_progress` then `job_complete` (and resume), poll `{status, progress, result?, error?}`,
cancel. Nobody answers anything: every job must end by itself."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from temporalio.worker import Worker

from tests.contracts.sse import read_sse
from tests.fakes.llm_server import FakeLLM

TAG = "seed 003: /jobs"


async def poll(
    http: httpx.AsyncClient, job_id: str, *statuses: str, within: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + within
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        resp = await http.get(f"/jobs/{job_id}")
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert isinstance(body["progress"], float) and 0 <= body["progress"] <= 100
        if body["status"] in statuses:
            return body
        await asyncio.sleep(0.2)
    raise AssertionError(f"{statuses} not reached in {within}s: {body}")


async def test_job_runs_unattended_to_its_result(
    base_url: str, worker: Worker, llm: FakeLLM
) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        # "POST /jobs → {job_id, status: "pending"}"
        resp = await http.post("/jobs", json={"query": "How is grid energy stored?"})
        assert resp.status_code == 202, resp.text
        job_id = resp.json()["job_id"]
        assert resp.json()["status"] == "pending"

        # "GET /jobs/{job_id}/stream → SSE updates": job_progress events, then job_complete.
        events = await read_sse(f"{base_url}/jobs/{job_id}/stream")
        kinds = [name for _, name, _ in events]
        assert kinds[-1] == "job_complete" and set(kinds[:-1]) == {"job_progress"}
        complete = events[-1][2]
        assert complete["job_id"] == job_id and complete["status"] == "completed"
        assert complete["result_url"] == f"/jobs/{job_id}"
        progress = [data["progress"] for _, name, data in events if name == "job_progress"]
        assert progress == sorted(progress) and progress[-1] > progress[0]
        assert all(d["job_id"] == job_id and d["status"] == "running" for _, _, d in events[:-1])
        # Last-Event-ID resumes after the event named.
        middle = events[len(events) // 2][0]
        assert middle is not None
        rest = await read_sse(f"{base_url}/jobs/{job_id}/stream", {"Last-Event-ID": middle})
        assert [e[0] for e in rest] == [e[0] for e in events if int(e[0] or 0) > int(middle)]
        assert rest[-1][1] == "job_complete"

        # "GET /jobs/{job_id} → {status, progress, result?, error?}"
        done = (await http.get(complete["result_url"])).json()
        assert done["status"] == "completed" and done["progress"] == 100.0
        assert done["error"] is None
        result = done["result"]
        assert result["report"].startswith("# ") and "[1]" in result["report"]
        assert (await http.get(result["report_url"])).text == result["report"]

        late = await http.delete(f"/jobs/{job_id}")
        assert late.status_code == 409 and late.json()["error_code"] == "run_finished"


async def test_job_cancel_chat_form_and_errors(base_url: str, worker: Worker, llm: FakeLLM) -> None:
    llm.reset(delays={"text": 3.0})  # hold the plan, so the job is still running when cancelled
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        assert (await http.post("/jobs", json={})).status_code == 422
        assert (await http.post("/jobs", json={"query": ""})).status_code == 422
        missing = await http.get("/jobs/no-such-job")
        assert missing.status_code == 404 and missing.json()["error_code"] == "run_not_found"

        chat = {"messages": [{"role": "user", "content": "Which storage is cheapest?"}]}
        resp = await http.post("/jobs", json=chat)
        assert resp.status_code == 202, resp.text
        job_id = resp.json()["job_id"]
        running = await poll(http, job_id, "running")
        assert running["result"] is None and running["progress"] < 100
        cancel = await http.delete(f"/jobs/{job_id}")
        assert cancel.status_code == 200 and cancel.json()["status"] == "cancelled"
        ended = await poll(http, job_id, "cancelled")
        assert ended["result"] is None
        events = await read_sse(f"{base_url}/jobs/{job_id}/stream")
        assert events[-1][1] == "job_complete" and events[-1][2]["status"] == "cancelled"

        spec = (await http.get("/openapi.json")).json()
        for path in ("/jobs", "/jobs/{job_id}", "/jobs/{job_id}/stream"):
            assert {t for op in spec["paths"][path].values() for t in op["tags"]} == {TAG}
