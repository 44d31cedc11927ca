"""Keys and provider credentials never reach logs, workflow history, search attributes or memos.

A research run goes through the API (auth on) and a worker built from settings that hold
distinctive secrets: the LLM key, Tavily and Brave keys (their endpoints pointed at a stub on
loopback that records what it is sent) and an API key. First the test proves each secret was
really used (the fakes saw them), so their absence below means something; then it scans
everything the run left behind for them: the full history (raw bytes and JSON), describe() with
its search attributes and memo, the run's artifacts, the API's answers, and every log record of
the worker and the API at DEBUG.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from temporalio.client import Client

from api.main import create_app
from api.runs_service import run_workflow_id
from providers.web_search import BraveProvider, TavilyProvider
from settings import Settings
from tests.fakes.llm_server import FakeLLM
from worker import build_activities, build_worker
from workflows.search_attributes import artifact_folder

LLM_SECRET = "sk-LLMSECRET-5e0f9b3c7a21d4"
TAVILY_SECRET = "tvly-TAVILYSECRET-8c41e2"
BRAVE_SECRET = "BRAVESECRET-77d0a9f3b1"
API_SECRET = "api-APISECRET-1f2e3d4c5b6a"
SECRETS = (LLM_SECRET, TAVILY_SECRET, BRAVE_SECRET, API_SECRET)
RUNS = "/api/v1/runs"
AUTH = {"Authorization": f"Bearer {API_SECRET}"}


class SearchStub:
    """Tavily and Brave on loopback: empty results, and a record of the headers they got."""

    def __init__(self) -> None:
        self.headers: list[dict[str, str]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def _answer(self, body: dict[str, Any]) -> None:
                stub.headers.append({k.lower(): v for k, v in self.headers.items()})
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # Tavily
                self.rfile.read(int(self.headers.get("content-length") or 0))
                self._answer({"results": []})

            def do_GET(self) -> None:  # Brave
                self._answer({"web": {"results": []}})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def search_stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[SearchStub]:
    stub = SearchStub()
    monkeypatch.setattr(TavilyProvider, "endpoint", f"{stub.url}/search")
    monkeypatch.setattr(BraveProvider, "endpoint", f"{stub.url}/res/v1/web/search")
    yield stub
    stub.stop()


@pytest.fixture
def secret_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "task_queue": "research-secrets",
            "llm_api_key": SecretStr(LLM_SECRET),
            "tavily_api_key": SecretStr(TAVILY_SECRET),
            "brave_api_key": SecretStr(BRAVE_SECRET),
            "search_providers": ["local", "tavily", "brave"],
            "api_keys": SecretStr(json.dumps({API_SECRET: "ada"})),
        }
    )


@pytest.fixture
async def secret_api(
    client: Client, secret_settings: Settings, search_stub: SearchStub, llm: FakeLLM
) -> AsyncIterator[httpx.AsyncClient]:
    """The worker and the API as production builds them from these settings."""
    activities = await asyncio.to_thread(build_activities, secret_settings)
    async with build_worker(client, secret_settings, activities):
        transport = httpx.ASGITransport(app=create_app(secret_settings))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            yield http


async def poll(
    api: httpx.AsyncClient, run_id: str, until: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    view: dict[str, Any] = {}
    while time.monotonic() < deadline:
        resp = await api.get(f"{RUNS}/{run_id}", headers=AUTH)
        assert resp.status_code == 200, resp.text
        view = resp.json()
        if until(view):
            return view
        await asyncio.sleep(0.2)
    raise AssertionError(f"not reached: {view}")


def pending(kind: str) -> Callable[[dict[str, Any]], bool]:
    return lambda v: (v.get("pending") or {}).get("kind") == kind


def leaked(where: str, text: str | bytes) -> list[str]:
    data = text if isinstance(text, bytes) else text.encode()
    return [f"{secret[:12]}... in {where}" for secret in SECRETS if secret.encode() in data]


async def test_no_secret_in_history_attributes_memo_artifacts_or_logs(
    client: Client,
    secret_settings: Settings,
    secret_api: httpx.AsyncClient,
    search_stub: SearchStub,
    llm: FakeLLM,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    api = secret_api
    body = {"question": "How is grid energy stored?", "options": {"depth": 1, "breadth": 2}}
    resp = await api.post(RUNS, json=body, headers=AUTH)
    assert resp.status_code == 202, resp.text
    run_id = resp.json()["run_id"]
    await poll(api, run_id, pending("clarification"))
    answer = {"answers": {"q1": "the last decade"}, "request_id": "a1"}
    resp = await api.post(f"{RUNS}/{run_id}/clarification", json=answer, headers=AUTH)
    assert resp.status_code == 200, resp.text
    await poll(api, run_id, pending("report"))
    reject = {"accepted": False, "comment": "say more about costs"}
    resp = await api.post(f"{RUNS}/{run_id}/acceptance", json=reject, headers=AUTH)
    assert resp.status_code == 200, resp.text
    await poll(api, run_id, lambda v: pending("report")(v) and v["pending"]["revision"] == 1)
    resp = await api.post(f"{RUNS}/{run_id}/acceptance", json={"accepted": True}, headers=AUTH)
    assert resp.status_code == 200, resp.text
    final = await poll(api, run_id, lambda v: v["status"].startswith("completed"))

    # Every secret was in use, so not finding one below is a finding.
    assert f"Bearer {LLM_SECRET}" in llm.authorizations
    seen = {h.get("authorization") or h.get("x-subscription-token") for h in search_stub.headers}
    assert {f"Bearer {TAVILY_SECRET}", BRAVE_SECRET} <= seen
    assert (await api.get(f"{RUNS}/{run_id}")).status_code == 401  # the API key is needed

    found: list[str] = []
    handle = client.get_workflow_handle(run_workflow_id(run_id, "ada"))
    history = await handle.fetch_history()
    raw = b"".join(event.SerializeToString() for event in history.events)
    assert b"How is grid energy stored?" in raw  # the scan sees inside payloads
    found += leaked("history (raw)", raw) + leaked("history (JSON)", history.to_json())

    desc = await handle.describe()
    found += leaked("describe (raw)", desc.raw_description.SerializeToString())
    found += leaked("search attributes", repr(desc.typed_search_attributes))
    found += leaked("memo", json.dumps(await desc.memo(), default=str))
    assert desc.typed_search_attributes  # our attributes are there to be scanned

    run_dir = secret_settings.artifacts_dir / "runs" / artifact_folder(handle.id)
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    assert files
    for path in files:
        found += leaked(f"artifact {path.name}", path.read_bytes())

    for suffix in ("", "/events", "/report?format=json", "/sources"):
        resp = await api.get(f"{RUNS}/{run_id}{suffix}", headers=AUTH)
        assert resp.status_code == 200, resp.text
        found += leaked(f"GET {suffix or '/runs/{id}'}", resp.content)
    found += leaked("GET /runs", (await api.get(RUNS, headers=AUTH)).content)

    records = caplog.records
    assert any(run_id in r.getMessage() for r in records)  # the logs of this run were captured
    for record in records:
        where = f"log {record.name}"
        found += leaked(where, f"{record.getMessage()} {record.args!r} {record.__dict__!r}")
    found += leaked("log output", caplog.text)
    assert final["status"] == "completed"
    assert not found, "secrets leaked:\n" + "\n".join(found)
