"""SSE and WebSocket streams of one run share the API process's one feed of it: six streams cost
Temporal what one does, and the feed goes when the last stream leaves."""

from __future__ import annotations

import asyncio
import re

import httpx
from temporalio.client import Client
from temporalio.worker import Worker
from websockets.asyncio.client import connect as ws_connect

from domain.run import RunEvent
from tests.fakes.llm_server import FakeLLM
from tests.helpers import pending_kind, wait_for_status
from tests.live import RUNS, ThreadedApi, as_event, run_handle, sse_messages, start_run

DESCRIBES = re.compile(r'^research_api_temporal_calls_total\{call="describe"\} ([0-9.e+]+)$', re.M)
WINDOW_S = 3.0


async def describes(http: httpx.AsyncClient) -> float:
    found = DESCRIBES.search((await http.get("/api/v1/metrics")).text)
    return float(found.group(1)) if found else 0.0


async def test_streams_of_one_run_share_one_feed(
    live_api: ThreadedApi, worker: Worker, llm: FakeLLM, client: Client, run_id: str
) -> None:
    await start_run(live_api.url, run_id)
    handle = run_handle(client, run_id)
    await wait_for_status(handle, pending_kind("clarification"))
    feeds = live_api.server.config.app.state
    caught_up = [asyncio.Event() for _ in range(6)]

    async def over_sse(done: asyncio.Event) -> list[RunEvent]:
        got: list[RunEvent] = []
        async with (
            httpx.AsyncClient(base_url=live_api.url, timeout=60) as http,
            http.stream("GET", f"{RUNS}/{run_id}/events") as resp,
        ):
            async for message in sse_messages(resp):
                if message.comment is None:
                    got.append(as_event(message))
                    if got[-1].type == "input_awaited":
                        done.set()
        return got

    async def over_ws(done: asyncio.Event) -> list[RunEvent]:
        got: list[RunEvent] = []
        async with ws_connect(f"ws://127.0.0.1:{live_api.port}{RUNS}/{run_id}/ws") as ws:
            async for raw in ws:
                got.append(RunEvent.model_validate_json(raw))
                if got[-1].type == "input_awaited":
                    done.set()
        return got

    streams = [asyncio.create_task(over_sse(e)) for e in caught_up[:4]]
    streams += [asyncio.create_task(over_ws(e)) for e in caught_up[4:]]
    await asyncio.wait_for(asyncio.gather(*(e.wait() for e in caught_up)), 30)
    assert len(feeds.feeds) == 1  # one feed for the six streams
    async with httpx.AsyncClient(base_url=live_api.url, timeout=30) as http:
        await asyncio.sleep(1.0)  # every stream's feed has backed off to the poll maximum
        before = await describes(http)
        await asyncio.sleep(WINDOW_S)
        spent = await describes(http) - before
    # One feed polls every 0.5 s at most (QUICK_STREAMS) while the run waits: about 6 in the
    # window. Six feeds, one per stream as before, would be about 36.
    assert 1 <= spent <= WINDOW_S / 0.5 + 3, spent  # it does poll, once for all
    await handle.cancel()  # the run finishes: every stream ends with `finished`
    got = await asyncio.wait_for(asyncio.gather(*streams), 30)
    assert all(events == got[0] and events[-1].type == "finished" for events in got)
    for _ in range(50):
        if not len(feeds.feeds):
            break
        await asyncio.sleep(0.1)
    assert len(feeds.feeds) == 0  # the feed went with its last stream
