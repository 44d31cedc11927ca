"""Seeds 000/001, the `/research` API, as a client written from the seeds' text drives it:
start, read and answer the clarification, stream (and resume), poll, fetch the report, cancel;
plus the root /health, /metrics and /docs, and the seeds' validation examples."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from temporalio.worker import Worker

from tests.contracts.sse import read_sse
from tests.fakes.llm_server import FakeLLM

TAG = "seed 000/001: /research"


async def poll(
    http: httpx.AsyncClient, request_id: str, *statuses: str, within: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + within
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        resp = await http.get(f"/research/{request_id}")
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert 0 <= body["progress"] <= 100
        if body["status"] in statuses:
            return body
        await asyncio.sleep(0.2)
    raise AssertionError(f"{statuses} not reached in {within}s: {body}")


async def test_research_runs_to_its_report(base_url: str, worker: Worker, llm: FakeLLM) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        # Seed 001, "Research Can Be Initiated": {"request_id": "...", "status": "accepted", ...}
        resp = await http.post("/research", json={"query": "How is grid energy stored?"})
        assert resp.status_code == 202, resp.text
        started = resp.json()
        request_id = started["request_id"]
        assert started["status"] == "accepted" and started["message"]
        assert started["stream_url"] == f"/research/{request_id}/stream"
        assert started["report_url"] == f"/research/{request_id}/report"

        # The two-phase clarification flow: the run waits for answers to its questions.
        waiting = await poll(http, request_id, "awaiting_clarification")
        assert waiting["clarification_needed"] is True
        early = await http.get(started["report_url"])
        assert early.status_code == 409 and early.json()["error_code"] == "run_not_finished"
        asked = (await http.get(f"/research/{request_id}/clarification")).json()
        assert asked["clarification_needed"] is True
        ids = [q["id"] for q in asked["questions"]]
        assert ids == ["q1", "q2"] and all(q["text"] for q in asked["questions"])
        answers = {"answers": {"q1": "the last decade", "q2": "Europe"}, "request_id": "c1"}
        resp = await http.post(f"/research/{request_id}/clarification", json=answers)
        assert resp.status_code == 200, resp.text
        assert resp.json()["status"] == "running"
        again = await http.post(f"/research/{request_id}/clarification", json=answers)
        assert again.status_code == 200 and again.json() == resp.json()

        # SSE: the whole run's events with ids, ending with `finished`; no review is awaited.
        events = await read_sse(base_url + started["stream_url"])
        assert events[-1][1] == "finished" and events[-1][2]["data"]["status"] == "completed"
        assert not any(e[2].get("data", {}).get("kind") == "report" for e in events)
        seqs = [int(e[0]) for e in events if e[0] is not None]
        assert seqs == sorted(seqs) and len(seqs) > 3
        # Reconnecting with Last-Event-ID replays exactly what came after it.
        middle = seqs[len(seqs) // 2]
        rest = await read_sse(base_url + started["stream_url"], {"Last-Event-ID": str(middle)})
        assert [int(e[0]) for e in rest if e[0] is not None] == [s for s in seqs if s > middle]

        done = await poll(http, request_id, "completed", "failed")
        assert done["status"] == "completed" and done["progress"] == 100
        assert done["clarification_needed"] is False and done["error"] is None
        report = await http.get(started["report_url"])
        assert report.status_code == 200, report.text
        body = report.json()
        assert body["request_id"] == request_id and body["status"] == "completed"
        assert body["report"].startswith("# ") and "[1]" in body["report"]
        after = (await http.get(f"/research/{request_id}/clarification")).json()
        assert after == {"request_id": request_id, "clarification_needed": False, "questions": []}

        late = await http.delete(f"/research/{request_id}")
        assert late.status_code == 409 and late.json()["error_code"] == "run_finished"


async def test_research_cancel_and_errors(base_url: str, worker: Worker, llm: FakeLLM) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        # Seed 001's model tests: an empty query and one of 6,000 characters are refused.
        for query in ("", "x" * 6000):
            resp = await http.post("/research", json={"query": query, "stream": True})
            assert resp.status_code == 422
            assert set(resp.json()) == {"error_code", "message", "details", "request_id"}
        keys = await http.post("/research", json={"query": "Q?", "api_keys": {"openai": "sk"}})
        assert keys.status_code == 422 and keys.json()["error_code"] == "api_keys_unsupported"
        missing = await http.get("/research/no-such-request")
        assert missing.status_code == 404 and missing.json()["error_code"] == "run_not_found"

        resp = await http.post(
            "/research", json={"query": "Which storage is cheapest?", "stream": False}
        )
        started = resp.json()
        assert resp.status_code == 202 and started["stream_url"] is None
        request_id = started["request_id"]
        await poll(http, request_id, "awaiting_clarification")
        cancel = await http.delete(f"/research/{request_id}")
        assert cancel.status_code == 200, cancel.text
        assert cancel.json()["status"] == "cancelled" and cancel.json()["task_cancelled"] is True
        ended = await poll(http, request_id, "cancelled")
        assert ended["progress"] == 100
        no_report = await http.get(started["report_url"])
        assert no_report.status_code == 409 and no_report.json()["error_code"] == "no_report"


async def test_operational_endpoints_at_the_root(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        health = await http.get("/health")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        metrics = await http.get("/metrics")
        assert metrics.status_code == 200 and "research_api_requests" in metrics.text
        assert (await http.get("/docs")).status_code == 200
        spec = (await http.get("/openapi.json")).json()
        for path in ("/research", "/research/{request_id}/stream", "/health"):
            tags = {t for op in spec["paths"][path].values() for t in op["tags"]}
            assert tags == {TAG}, (path, tags)
