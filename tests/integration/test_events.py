"""Live events over SSE and WebSocket, against the real API on a socket, Temporal and a worker.

The promise under test: a client that reconnects with the last id it saw gets every later event
exactly once, whether its connection dropped or the API process itself was killed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client
from temporalio.worker import Worker
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosedError

from cli.sse import SseMessage, SseParser
from domain.run import RunEvent
from domain.state import ResearchInput
from settings import Settings
from tests.fakes.llm_server import FakeLLM
from tests.helpers import pending_kind, wait_for_status
from tests.helpers.stack import free_port
from tests.live import (
    QUICK_STREAMS,
    RUNS,
    ApiProcess,
    ThreadedApi,
    as_event,
    assert_complete,
    read_events,
    respond,
    run_handle,
    sse_messages,
    start_run,
)
from workflows.research import ResearchWorkflow
from workflows.search_attributes import research_workflow_id


@pytest.fixture(scope="module")
def live_api(settings: Settings) -> Iterator[ThreadedApi]:
    api = ThreadedApi(settings.model_copy(update=QUICK_STREAMS)).start()
    yield api
    api.stop()


async def test_sse_resumes_after_a_dropped_connection(
    live_api: ThreadedApi, worker: Worker, llm: FakeLLM, client: Client, run_id: str
) -> None:
    await start_run(live_api.url, run_id)
    handle = run_handle(client, run_id)
    url = f"{RUNS}/{run_id}/events"
    async with httpx.AsyncClient(base_url=live_api.url, timeout=30) as http:
        first = await read_events(http, url, "input_awaited", handle)
        # While no one listens the run moves on: questions skipped, report written.
        await respond(handle, first[-1])
        await wait_for_status(handle, pending_kind("report"))
        rest = await read_events(
            http, url, None, handle, headers={"Last-Event-ID": str(first[-1].seq)}
        )
        assert rest[0].seq == first[-1].seq + 1
        assert_complete(first + rest)  # and the stream closed by itself after `finished`
        kinds = {e.type for e in first + rest}
        assert {"stage_changed", "query_issued", "source_read", "llm_call"} <= kinds
        assert {"input_awaited", "input_received"} <= kinds
        # Reconnecting after the terminal event: 204 tells EventSource to stop for good.
        done = await http.get(url, headers={"Last-Event-ID": str(rest[-1].seq)})
        assert done.status_code == 204
        # A fresh client from zero replays the same log.
        replay = await read_events(http, url, None, None)
        assert replay == first + rest
        # The dropped stream was let go on the server too: no stream is left open.
        for _ in range(100):
            metrics = (await http.get("/api/v1/metrics")).text
            if "research_api_sse_streams 0.0" in metrics:
                break
            await asyncio.sleep(0.1)
        assert "research_api_sse_streams 0.0" in metrics
        assert 'research_api_temporal_calls_total{call="describe"}' in metrics


async def test_sse_resumes_across_an_api_restart(
    settings: Settings, worker: Worker, llm: FakeLLM, client: Client, run_id: str, tmp_path: Path
) -> None:
    port = free_port()
    api = ApiProcess(settings.model_copy(update=QUICK_STREAMS), port, tmp_path / "api.log")
    handle = run_handle(client, run_id)
    url = f"http://127.0.0.1:{port}{RUNS}/{run_id}/events"
    seen: list[RunEvent] = []
    try:
        await asyncio.to_thread(api.start)
        await start_run(api.url, run_id)
        async with httpx.AsyncClient(timeout=30) as http, http.stream("GET", url) as resp:
            with pytest.raises(httpx.TransportError):  # the API dies under the open stream
                async for message in sse_messages(resp):
                    if message.comment is None:
                        seen.append(as_event(message))
                        if seen[-1].type == "input_awaited":
                            api.kill()
        assert seen and seen[-1].type == "input_awaited"
        await respond(handle, seen[-1])  # straight to Temporal: there is no API now
        await wait_for_status(handle, pending_kind("report"))
        await asyncio.to_thread(api.start)  # a new process, no memory of the old one
        async with httpx.AsyncClient(timeout=30) as http:
            rest = await read_events(http, url, None, handle, params={"after": seen[-1].seq})
    finally:
        api.kill()
    assert_complete(seen + rest)


async def test_keep_alives_arrive_while_the_run_waits(
    live_api: ThreadedApi, worker: Worker, llm: FakeLLM, client: Client, run_id: str
) -> None:
    await start_run(live_api.url, run_id)
    comments: list[str] = []
    async with (
        httpx.AsyncClient(base_url=live_api.url, timeout=30) as http,
        http.stream("GET", f"{RUNS}/{run_id}/events") as resp,
    ):
        waiting = False
        async for message in sse_messages(resp):
            if message.comment is None:
                waiting = waiting or as_event(message).type == "input_awaited"
            elif waiting:
                comments.append(message.comment)
                if message.comment == "keep-alive":
                    break
    assert comments[-1] == "keep-alive"
    await run_handle(client, run_id).cancel()


async def test_unknown_run_and_bad_resume_point(live_api: ThreadedApi) -> None:
    async with httpx.AsyncClient(base_url=live_api.url, timeout=30) as http:
        for run_id in ("never-started", "no spaces allowed"):
            resp = await http.get(f"{RUNS}/{run_id}/events")
            assert resp.status_code == 404, resp.text
            body = resp.json()
            assert body["error_code"] == "run_not_found" and body["request_id"]
        bad = await http.get(f"{RUNS}/never-started/events", params={"after": -1})
        assert bad.status_code == 422 and bad.json()["error_code"] == "invalid_request"


async def test_a_run_that_closed_without_finishing_ends_the_stream(
    live_api: ThreadedApi, worker: Worker, llm: FakeLLM, client: Client, run_id: str
) -> None:
    await start_run(live_api.url, run_id)
    handle = run_handle(client, run_id)
    await wait_for_status(handle, pending_kind("clarification"))
    await handle.terminate("test")  # no `finished` event is ever written
    async with httpx.AsyncClient(base_url=live_api.url, timeout=30) as http:
        resp = await http.get(f"{RUNS}/{run_id}/events")  # the whole stream: it must end
    messages = list(SseParser().messages(resp.text.split("\n")))
    events = [as_event(m) for m in messages if m.comment is None and m.event != "end"]
    end = [m for m in messages if m.event == "end"]
    assert events and events[-1].type == "input_awaited"
    assert len(end) == 1 and end[0].id is None  # not an event: no id to resume from
    assert json.loads(end[0].data) | {"message": ""} == {
        "reason": "closed",
        "message": "",
        "last_seq": events[-1].seq,
        "temporal_status": "TERMINATED",
    }


async def test_without_a_worker_the_stream_says_so_and_ends_when_the_run_closes(
    live_api: ThreadedApi, client: Client, run_id: str
) -> None:
    # No worker polls this queue: the log cannot be read, but the stream stays open and honest.
    handle = await client.start_workflow(
        ResearchWorkflow.run,
        ResearchInput(run_id=run_id, question="Q?"),
        id=research_workflow_id(run_id),
        task_queue=f"nobody-{run_id}",
    )
    messages: list[SseMessage] = []
    async with (
        httpx.AsyncClient(base_url=live_api.url, timeout=30) as http,
        http.stream("GET", f"{RUNS}/{run_id}/events") as resp,
    ):
        assert resp.status_code == 200
        async for message in sse_messages(resp):
            messages.append(message)
            if message.comment and message.comment.startswith("no worker answered"):
                await handle.terminate("test")
    assert not [m for m in messages if m.comment is None and m.event != "end"]  # no events
    end = messages[-1]
    assert end.event == "end" and end.id is None
    assert json.loads(end.data)["reason"] == "log_unavailable"


async def test_websocket_sends_what_sse_sends(
    live_api: ThreadedApi, worker: Worker, llm: FakeLLM, client: Client, run_id: str
) -> None:
    await start_run(live_api.url, run_id)
    handle = run_handle(client, run_id)
    ws_url = f"ws://127.0.0.1:{live_api.port}{RUNS}/{run_id}/ws"

    async def over_ws() -> list[RunEvent]:
        async with ws_connect(ws_url) as ws:
            got = [RunEvent.model_validate_json(raw) async for raw in ws]
            assert ws.close_code == 1000
            return got

    async def over_sse() -> list[RunEvent]:
        async with httpx.AsyncClient(base_url=live_api.url, timeout=30) as http:
            return await read_events(http, f"{RUNS}/{run_id}/events", None, handle)

    # SSE answers the run as it goes; the WebSocket only listens, from the very start.
    ws_events, sse_events = await asyncio.gather(over_ws(), over_sse())
    assert_complete(sse_events)
    assert ws_events == sse_events

    async with ws_connect(f"{ws_url}?after={sse_events[-3].seq}") as ws:
        tail = [RunEvent.model_validate_json(raw) async for raw in ws]
    assert tail == sse_events[-2:]  # resumed from `after`, then closed after `finished`

    async with ws_connect(f"ws://127.0.0.1:{live_api.port}{RUNS}/never-started/ws") as ws:
        error = await ws.recv()
        with pytest.raises(ConnectionClosedError):
            await ws.recv()
    assert ws.close_code == 1008 and ws.close_reason == "run_not_found"
    assert '"error_code":"run_not_found"' in error.replace(" ", "")
