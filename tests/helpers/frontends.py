"""The run's front ends as the tests drive them: the REST facade (its paths, a quick run's
options, error codes, polling a run's view), the `research` command line under CliRunner, and
the browser tests' system Chromium with an API server inside the test's event loop."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from click.testing import Result
from pydantic import SecretStr
from temporalio.client import Client, WorkflowHandle
from typer.testing import CliRunner

from api.deps import get_temporal_client
from api.main import create_app
from cli.ask import EXIT_OK
from cli.main import app
from settings import Settings
from workflows.research import ResearchWorkflow
from workflows.search_attributes import research_workflow_id

# -- the REST facade ---------------------------------------------------------------------------

RUNS = "/api/v1/runs"
FAST = {"depth": 1, "breadth": 2}


def with_keys(settings: Settings, owners: dict[str, str]) -> Settings:
    """`settings` with API keys on (key -> owner), and a query timeout short enough that GET
    answers from the start memo quickly when no worker polls."""
    keys = SecretStr(json.dumps(owners))
    return settings.model_copy(update={"api_keys": keys, "api_query_timeout_s": 0.5})


@contextlib.asynccontextmanager
async def keyed_clients(
    client: Client, settings: Settings
) -> AsyncIterator[Callable[[str], httpx.AsyncClient]]:
    """A factory of in-process API clients, one per key, over the tests' Temporal client."""
    app = create_app(settings)
    app.dependency_overrides[get_temporal_client] = lambda: client
    opened: list[httpx.AsyncClient] = []

    def make(key: str) -> httpx.AsyncClient:
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://127.0.0.1",
            headers={"Authorization": f"Bearer {key}"},
        )
        opened.append(http)
        return http

    try:
        yield make
    finally:
        for http in opened:
            await http.aclose()


def code(resp: httpx.Response) -> tuple[int, str | None]:
    body = resp.json()
    return resp.status_code, body.get("error_code") if isinstance(body, dict) else None


async def poll(
    api: httpx.AsyncClient, run_id: str, until: Callable[[dict[str, Any]], bool], within: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + within
    view: dict[str, Any] = {}
    while time.monotonic() < deadline:
        resp = await api.get(f"{RUNS}/{run_id}")
        assert resp.status_code == 200, resp.text
        view = resp.json()
        if until(view):
            return view
        await asyncio.sleep(0.2)
    raise AssertionError(f"not reached in {within}s: {view}")


def pending(kind: str) -> Callable[[dict[str, Any]], bool]:
    return lambda v: (v.get("pending") or {}).get("kind") == kind


# -- the command line --------------------------------------------------------------------------


class Cli:
    """Runs one `research` command against `api_url` in a thread, so the worker on the test's
    event loop keeps working while the command blocks."""

    def __init__(self, api_url: str) -> None:
        self.api_url = api_url

    async def __call__(self, *args: str) -> Result:
        argv = [*args, "--api-url", self.api_url]
        return await asyncio.to_thread(CliRunner().invoke, app, argv)


def handle_of(client: Client, run_id: str) -> WorkflowHandle:
    return client.get_workflow_handle_for(ResearchWorkflow.run, research_workflow_id(run_id))


def ok(result: Result, *fragments: str) -> str:
    assert result.exit_code == EXIT_OK, (result.stdout, result.stderr)
    for fragment in fragments:
        assert fragment in result.stdout, (fragment, result.stdout)
    return result.stdout


def one_line_error(result: Result, code: int, starts: str) -> None:
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert result.stderr.startswith(f"error: {starts}"), result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output


def posted_body(path: str, request: httpx.Request) -> dict[str, Any]:
    """A POST's JSON body; every answer and decision must carry its own idempotency key, which
    is checked here and dropped so that tests compare what the person sent."""
    body = json.loads(request.content)
    if path.endswith(("/clarification", "/acceptance")):
        assert len(body.pop("request_id")) == 32
    return body


# -- the browser -------------------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
# The system browser, never one downloaded by `playwright install` (this machine has no internet).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
STEP = 30_000  # ms: one workflow step with the scripted LLM takes well under a second

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs the system Chromium at /usr/bin/chromium (`apt-get install chromium`; "
    ".ci/run installs it)",
)


class InLoopServer(uvicorn.Server):
    # pytest keeps Ctrl+C: a server inside the test must not take the signal handlers over.
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def api_in_loop(app: Any, temporal: Any, **config: Any) -> AsyncIterator[str]:
    """`app` on a free loopback port in the test's own event loop (so it can share the test's
    Temporal client, `temporal`), stopped on exit; yields its base URL."""
    from tests.helpers.stack import free_port  # the stack helpers import this module

    app.dependency_overrides[get_temporal_client] = lambda: temporal
    port = free_port()
    options = {"log_level": "warning", "timeout_graceful_shutdown": 2, **config}
    server = InLoopServer(uvicorn.Config(app, host="127.0.0.1", port=port, **options))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # raises why the server could not start
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
