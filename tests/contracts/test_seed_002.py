"""Seed 002's contract, from its own examples: POST /api/v1/runs, then /status, /output and
/context, driving whole runs to their end on the real dev server with the scripted model."""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.worker import Worker

from settings import Settings
from workflows.search_attributes import research_workflow_id

RUNS = "/api/v1/runs"
SEED_STATUSES = {"queued", "running", "completed", "completed_with_gaps", "failed", "stopped"}
TERMINAL = {"completed", "completed_with_gaps", "failed", "stopped"}
ERROR_FIELDS = {"error_code", "message", "details", "request_id"}


async def poll_until_terminal(http: httpx.AsyncClient, url: str, limit_s: float = 90) -> dict:
    """Poll as the seed's front end does; every answer is the seed's status shape."""
    deadline = time.monotonic() + limit_s
    while True:
        resp = await http.get(url)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert set(body) == {
            "run_id",
            "status",
            "started_at",
            "completed_at",
            "finish_reason",
            "error",
        }
        assert body["status"] in SEED_STATUSES
        if body["status"] in TERMINAL:
            return body
        assert time.monotonic() < deadline, f"not terminal after {limit_s} s: {body}"
        await asyncio.sleep(0.5)


def error_of(resp: httpx.Response) -> dict[str, Any]:
    body = resp.json()
    assert set(body) == ERROR_FIELDS, body
    return body


async def test_a_seed_client_runs_to_the_end_unattended(
    base_url: str, worker: Worker, settings: Settings, run_id: str, client: Client
) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        # The seed's own request body; the folder is the tests' documents folder's name.
        resp = await http.post(
            RUNS,
            json={
                "question": "How is grid energy stored?",
                "run_id": run_id,
                "enable_sql": False,
                "markdown_path": "corpus",
                "log_llm_payload": True,
            },
        )
        assert resp.status_code == 202, resp.text
        created = resp.json()
        assert created["run_id"] == run_id
        assert created["status"] == "queued"
        assert created["status_url"] == f"{RUNS}/{run_id}/status"
        assert created["output_url"] == f"{RUNS}/{run_id}/output"
        assert created["context_url"] == f"{RUNS}/{run_id}/context"

        again = await http.post(RUNS, json={"question": "again", "run_id": run_id})
        assert again.status_code == 409
        assert error_of(again)["error_code"] == "run_exists"

        # Nobody answers or reviews: the run must finish on its own, with its answer.
        status = await poll_until_terminal(http, created["status_url"])
        assert status["status"] == "completed", status
        assert status["completed_at"] is not None
        assert status["error"] is None
        # The workflow saves the seed's three files as it finishes (the status turns terminal
        # first, so a poller may see it a moment before): once the run is closed they are there,
        # before anyone has read /output or /context.
        await client.get_workflow_handle(research_workflow_id(run_id)).result()
        folder = settings.artifacts_dir / "runs" / run_id
        for name in ("run.json", "final.md", "context_bundle.json"):
            assert (folder / name).is_file(), f"{name} missing before the first read"

        resp = await http.get(created["output_url"])
        assert resp.status_code == 200, resp.text
        output = resp.json()
        assert set(output) == {"run_id", "status", "content", "final_output_path"}
        assert output["run_id"] == run_id and output["status"] == "completed"
        assert output["content"].strip()
        final = settings.data_dir / output["final_output_path"]
        assert final.read_text(encoding="utf-8") == output["content"]
        report = await http.get(f"{RUNS}/{run_id}/report")
        assert report.text == output["content"]

        resp = await http.get(created["context_url"])
        assert resp.status_code == 200, resp.text
        context = resp.json()
        assert set(context) == {"run_id", "status", "context_bundle", "context_bundle_path"}
        bundle = context["context_bundle"]
        assert bundle["question"] == "How is grid energy stored?"
        assert bundle["plan"]
        assert bundle["sources"], "the bundle carries the sources read"
        assert all("passages" in source for source in bundle["sources"])
        saved = settings.data_dir / context["context_bundle_path"]
        assert json.loads(saved.read_text(encoding="utf-8")) == bundle
        # The run's three files lie side by side, as the seed persists them.
        assert (saved.parent / "run.json").is_file() and final.parent == saved.parent

    # markdown_path: every local source came from the chosen folder.
    corpus = await asyncio.to_thread(os.path.realpath, settings.docs_dirs[0])
    for source in bundle["sources"]:
        assert source["source_id"].startswith(corpus + os.sep), source["source_id"]
    # log_llm_payload: one redacted record per model call, request and reply.
    records = sorted((saved.parent / "llm").glob("*.json"))
    assert records, "no LLM payloads were logged"
    first = json.loads(records[0].read_text(encoding="utf-8"))
    assert first["request"]["user"] and "text" in first["response"]


async def test_seed_refusals_have_the_error_body(
    base_url: str, worker: Worker, run_id: str
) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        sql = await http.post(RUNS, json={"question": "q", "enable_sql": True})
        assert sql.status_code == 422
        assert error_of(sql)["error_code"] == "sql_not_available"
        folder = await http.post(RUNS, json={"question": "q", "markdown_path": "documents"})
        assert folder.status_code == 422
        body = error_of(folder)
        assert body["error_code"] == "unknown_markdown_path"
        assert body["details"]["folders"] == ["corpus"] and "corpus" in body["message"]
        bad = await http.post(RUNS, json={"run_id": "x"})
        assert bad.status_code == 422
        error_of(bad)
        for suffix in ("/status", "/output", "/context"):
            missing = await http.get(f"{RUNS}/never-{run_id}{suffix}")
            assert missing.status_code == 404
            assert error_of(missing)["error_code"] == "run_not_found"


async def test_output_and_context_are_409_until_terminal(
    base_url: str, worker: Worker, run_id: str
) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        # A main-contract run with options asks a person, so it stays under way here.
        resp = await http.post(
            RUNS, json={"question": "How is grid energy stored?", "run_id": run_id, "options": {}}
        )
        assert resp.status_code == 202, resp.text
        created = resp.json()
        for _ in range(60):
            view = (await http.get(created["run_url"])).json()
            if view["status"] == "awaiting_input":
                break
            await asyncio.sleep(0.25)
        assert view["status"] == "awaiting_input", view
        status = (await http.get(created["status_url"])).json()
        assert status["status"] == "running"  # waiting on a person: not a seed status
        for url in (created["output_url"], created["context_url"]):
            early = await http.get(url)
            assert early.status_code == 409
            assert error_of(early)["error_code"] == "run_not_finished"
        assert (await http.post(f"{RUNS}/{run_id}/cancel")).status_code == 202
        stopped = await poll_until_terminal(http, created["status_url"])
        assert stopped["status"] == "stopped"
        output = await http.get(created["output_url"])
        assert output.status_code == 200 and output.json()["content"] == ""


async def test_openapi_groups_the_seed_routes(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as http:
        paths = (await http.get("/openapi.json")).json()["paths"]
    for suffix in ("status", "output", "context"):
        assert paths[f"{RUNS}/{{run_id}}/{suffix}"]["get"]["tags"] == ["seed-002"]
    trigger = paths[RUNS]["post"]
    assert "seed-002" in trigger["tags"]
