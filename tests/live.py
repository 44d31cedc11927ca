"""A real API behind a real socket, for streams and the CLI: in a thread or as a process.

The ASGI test transport buffers a whole response, so SSE, WebSocket and the blocking CLI need
a server on a port. The thread one has its own event loop and Temporal client; the process
one can be SIGKILLed, like an API that dies mid-stream.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from temporalio.client import Client, WorkflowHandle

from api.main import create_app
from cli.sse import SseMessage, SseParser
from domain.run import ClarificationAnswer, Decision, RunEvent
from settings import Settings
from stack.env import child_env
from tests.helpers.stack import free_port
from workflows.research import ResearchWorkflow
from workflows.search_attributes import research_workflow_id

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RUNS = "/api/v1/runs"
FAST = {"depth": 1, "breadth": 2}
# Short keep-alive and poll cap so stream tests see both quickly.
QUICK_STREAMS = {"sse_keepalive_s": 0.3, "events_poll_min_s": 0.05, "events_poll_max_s": 0.5}


class ThreadedApi:
    """`create_app(settings)` served by uvicorn on a free port, in a daemon thread."""

    def __init__(self, settings: Settings) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            ws="websockets-sansio",
            # Open streams would hold a graceful shutdown forever; cut them after a second.
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ThreadedApi:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the threaded API did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)


class ApiProcess:
    """`uvicorn api.main:app` as a child process with the tests' settings in its environment."""

    def __init__(self, settings: Settings, port: int, log_path: Path) -> None:
        self.port = port
        self.env = child_env(settings, os.environ)
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ApiProcess:
        cmd = [sys.executable, "-m", "uvicorn", "api.main:app", "--port", str(self.port)]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                cmd, cwd=PROJECT_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the API process exited; see {self.log_path}")
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the API process did not answer; see {self.log_path}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)


async def sse_messages(response: httpx.Response) -> AsyncIterator[SseMessage]:
    """The messages of an open `text/event-stream` response, comments included."""
    parser = SseParser()
    async for line in response.aiter_lines():
        if (message := parser.feed(line)) is not None:
            yield message


def as_event(message: SseMessage) -> RunEvent:
    event = RunEvent.model_validate(json.loads(message.data))
    # The wire fields and the payload must agree: the id is the seq, the event name the type.
    assert message.id == str(event.seq) and message.event == event.type, message
    return event


async def start_run(base_url: str, run_id: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as http:
        body = {"question": "How is grid energy stored?", "run_id": run_id, "options": FAST}
        resp = await http.post(RUNS, json=body)
        assert resp.status_code == 202, resp.text


def run_handle(client: Client, run_id: str) -> WorkflowHandle:
    return client.get_workflow_handle_for(ResearchWorkflow.run, research_workflow_id(run_id))


async def respond(handle: WorkflowHandle, event: RunEvent) -> None:
    """Play the person: skip the questions, accept the report."""
    if event.type != "input_awaited":
        return
    if event.data["kind"] == "clarification":
        answer = ClarificationAnswer(skip=True)
        await handle.execute_update(ResearchWorkflow.answer_clarification, answer)
    else:
        await handle.execute_update(ResearchWorkflow.decide, Decision(accepted=True))


async def read_events(
    http: httpx.AsyncClient,
    url: str,
    until: str | None,
    handle: WorkflowHandle | None,
    **kw: Any,
) -> list[RunEvent]:
    """Events from one connection, until `until` or the end; with a handle, answering the run."""
    got: list[RunEvent] = []
    async with http.stream("GET", url, **kw) as resp:
        assert resp.status_code == 200, await resp.aread()
        assert resp.headers["content-type"].startswith("text/event-stream")
        async for message in sse_messages(resp):
            if message.comment is not None:
                continue
            got.append(as_event(message))
            if got[-1].type == until:
                return got  # leaving the block drops the connection mid-stream
            if handle is not None:
                await respond(handle, got[-1])
    return got


def assert_complete(events: list[RunEvent]) -> None:
    seqs = [e.seq for e in events]
    assert seqs == list(range(1, len(seqs) + 1)), f"gap or duplicate: {seqs}"
    assert events[-1].type == "finished" and [e.type for e in events].count("finished") == 1
