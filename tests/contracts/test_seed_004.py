"""Seed 004, the workflow-execution API, as a client written from the seed's text drives it:
the registry, start with {project_id, initial_context}, ExecutionResponse while it waits for a
clarification and an acceptance, the WebSocket's {event_type, step_id, timestamp, data}, the
executions list with filters, cancel and resume, and the seed's error mapping."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
from temporalio.worker import Worker
from websockets.asyncio.client import connect as ws_connect

from tests.fakes.llm_server import FakeLLM

API = "/api/v1"
TAG = "seed 004: workflows and executions"
EXECUTION_FIELDS = {
    "execution_id",
    "workflow_id",
    "project_id",
    "status",
    "current_step_id",
    "completed_steps",
    "pending_acceptance",
    "pending_clarification",
    "started_at",
    "completed_at",
    "error",
}


async def poll(
    http: httpx.AsyncClient, execution_id: str, status: str, within: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + within
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        resp = await http.get(f"{API}/executions/{execution_id}")
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert set(body) == EXECUTION_FIELDS
        if body["status"] == status:
            return body
        await asyncio.sleep(0.2)
    raise AssertionError(f"{status} not reached in {within}s: {body}")


def error(resp: httpx.Response) -> tuple[int, str]:
    body = resp.json()
    assert set(body) == {"error_code", "message", "details", "request_id"}
    return resp.status_code, body["error_code"]


async def collect(url: str) -> list[dict[str, Any]]:
    async with ws_connect(url) as ws:
        return [json.loads(message) async for message in ws]


async def test_execution_with_clarification_and_acceptance(
    base_url: str, worker: Worker, llm: FakeLLM
) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        flows = (await http.get(f"{API}/workflows")).json()["flows"]
        assert "research" in {f["name"] for f in flows}
        definition = (await http.get(f"{API}/workflows/research")).json()
        steps = {s["step_id"]: s["waits_for"] for s in definition["steps"]}
        assert definition["workflow_id"] == "research" and steps["report_review"] == "acceptance"
        assert error(await http.get(f"{API}/workflows/nope")) == (404, "WORKFLOW_NOT_FOUND")
        start = f"{API}/workflows/research/start"
        assert error(await http.post(start, json={})) == (400, "VALIDATION_ERROR")
        no_question = {"project_id": "proj-1", "initial_context": {}}
        assert error(await http.post(start, json=no_question)) == (400, "VALIDATION_ERROR")
        nope = await http.post(f"{API}/workflows/nope/start", json={"project_id": "p"})
        assert error(nope) == (404, "WORKFLOW_NOT_FOUND")

        context = {"question": "How is grid energy stored?", "options": {"depth": 1}}
        resp = await http.post(start, json={"project_id": "proj-1", "initial_context": context})
        assert resp.status_code == 201, resp.text
        started = resp.json()
        execution_id = started["execution_id"]
        assert set(started) == EXECUTION_FIELDS and started["project_id"] == "proj-1"
        assert started["workflow_id"] == "research" and started["status"] in ("pending", "running")
        ws_url = base_url.replace("http", "ws") + f"{API}/ws/executions/{execution_id}"
        messages = asyncio.create_task(collect(ws_url))
        url = f"{API}/executions/{execution_id}"

        waiting = await poll(http, execution_id, "waiting_clarification")
        questions = waiting["pending_clarification"]["questions"]
        assert [q["id"] for q in questions] == ["q1", "q2"] and waiting[
            "pending_acceptance"
        ] is None
        assert error(await http.post(f"{url}/acceptance", json={"accepted": True})) == (
            400,
            "INVALID_STATE",
        )
        assert error(await http.post(f"{url}/clarification", json={})) == (400, "VALIDATION_ERROR")
        assert error(await http.post(f"{url}/resume")) == (400, "INVALID_STATE")
        answers = {"answers": {"q1": "the last decade", "q2": "Europe"}}
        resp = await http.post(f"{url}/clarification", json=answers)
        assert resp.status_code == 200 and resp.json()["pending_clarification"] is None

        review = await poll(http, execution_id, "waiting_acceptance")
        assert review["pending_acceptance"]["kind"] == "report"
        assert review["pending_acceptance"]["content"].startswith("# ")
        assert review["current_step_id"] == "report_review"
        assert "researching" in review["completed_steps"]
        resp = await http.post(f"{url}/acceptance", json={"accepted": True, "comment": "good"})
        assert resp.status_code == 200, resp.text

        done = await poll(http, execution_id, "completed")
        assert done["completed_at"] and done["current_step_id"] is None and done["error"] is None
        assert done["completed_steps"] == [
            "clarifying",
            "planning",
            "researching",
            "writing",
            "report_review",
        ]
        assert error(await http.post(f"{url}/cancel")) == (400, "INVALID_STATE")
        assert error(await http.post(f"{url}/resume")) == (400, "INVALID_STATE")

        events = await asyncio.wait_for(messages, 30)
        assert all(set(e) == {"event_type", "step_id", "timestamp", "data"} for e in events)
        kinds = [e["event_type"] for e in events]
        for kind in ("step_started", "step_completed", "waiting_clarification"):
            assert kind in kinds, kinds
        assert "waiting_acceptance" in kinds and kinds[-1] == "execution_completed"
        started_steps = [e["step_id"] for e in events if e["event_type"] == "step_started"]
        assert {"planning", "researching", "writing", "report_review"} <= set(started_steps)
        left = [e["step_id"] for e in events if e["event_type"] == "step_completed"]
        assert {"planning", "researching", "writing"} <= set(left)

        listed = (await http.get(f"{API}/executions", params={"project_id": "proj-1"})).json()
        assert execution_id in {e["execution_id"] for e in listed["executions"]}
        assert all(e["project_id"] == "proj-1" for e in listed["executions"])
        failed = await http.get(f"{API}/executions", params={"status": "failed"})
        assert execution_id not in {e["execution_id"] for e in failed.json()["executions"]}

        # The seed's criteria check status under the workflow too; another workflow's is a 404.
        nested = await http.get(f"{API}/workflows/research/executions/{execution_id}")
        assert nested.status_code == 200 and nested.json()["execution_id"] == execution_id
        other = await http.get(f"{API}/workflows/approval/executions/{execution_id}")
        assert error(other) == (404, "EXECUTION_NOT_FOUND")


async def test_cancel_execution_and_not_found(base_url: str, worker: Worker, llm: FakeLLM) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        missing = await http.get(f"{API}/executions/proj-x--0000")
        assert error(missing) == (404, "EXECUTION_NOT_FOUND")
        body = {"project_id": "proj-2", "initial_context": {"question": "Which is cheapest?"}}
        resp = await http.post(f"{API}/workflows/research/start", json=body)
        execution_id = resp.json()["execution_id"]
        await poll(http, execution_id, "waiting_clarification")
        cancel = await http.post(f"{API}/executions/{execution_id}/cancel")
        assert cancel.status_code == 200 and cancel.json()["status"] == "cancelled"
        ended = await poll(http, execution_id, "cancelled")
        assert ended["completed_at"] is not None

        spec = (await http.get("/openapi.json")).json()
        for path in ("/workflows/{workflow_id}/start", "/executions/{execution_id}/acceptance"):
            assert {t for op in spec["paths"][API + path].values() for t in op["tags"]} == {TAG}
