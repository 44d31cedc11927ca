"""What open SSE streams cost: queries and describes per second the API sends to Temporal, and
the CPU of the API and Temporal processes, with N streams on waiting runs versus none.

    uv run python -m bench sse [--quick]         # as part of the suite
    uv run python bench/sse_streams.py [--streams 50] [--window 30]

Everything runs on loopback (`bench/stack.py`): a Temporal dev server, the scripted test LLM, a
worker process and the API as its own process (so its CPU is its own). The runs wait for
answers to their clarifying questions the whole time, which is what most runs do most of their
life.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import Result, text_table
from bench.stack import BenchStack, gather_limited
from bench.stats import cpu_seconds
from runtime.process_exit import exit_now

CALLS = re.compile(r'^research_api_temporal_calls_total\{call="(\w+)"\} ([0-9.e+]+)$', re.M)


async def calls(http: httpx.AsyncClient) -> dict[str, float]:
    text = (await http.get("/api/v1/metrics")).text
    return {name: float(value) for name, value in CALLS.findall(text)}


async def measure(http: httpx.AsyncClient, pids: dict[str, int], window: float) -> dict[str, float]:
    before, cpu0, t0 = await calls(http), {k: cpu_seconds(p) for k, p in pids.items()}, time.time()
    await asyncio.sleep(window)
    after, t1 = await calls(http), time.time()
    span = t1 - t0
    out = {f"{k}/s": (after.get(k, 0) - before.get(k, 0)) / span for k in ("query", "describe")}
    for name, pid in pids.items():
        out[f"{name} CPU %"] = 100 * (cpu_seconds(pid) - cpu0[name]) / span
    return out


async def hold_stream(http: httpx.AsyncClient, run_id: str, opened: asyncio.Event) -> None:
    async with http.stream("GET", f"/api/v1/runs/{run_id}/events") as resp:
        resp.raise_for_status()
        async for line in resp.aiter_lines():
            if line.startswith("event: input_awaited"):
                opened.set()  # caught up with the log; from here the stream only idles


async def hold_and_measure(
    stack: BenchStack, pids: dict[str, int], ids: list[str], window: float
) -> dict[str, float]:
    """Open one stream per id (ids may repeat), measure once they have all idled, close them."""
    opened = [asyncio.Event() for _ in ids]
    tasks = [
        asyncio.create_task(hold_stream(stack.http, r, e)) for r, e in zip(ids, opened, strict=True)
    ]
    await asyncio.gather(*(e.wait() for e in opened))
    await asyncio.sleep(stack.settings.events_poll_max_s * 2)  # every stream backed off
    row = await measure(stack.http, pids, window)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return row


async def measure_streams(streams: int, window: float) -> Result:
    result = Result(
        "sse",
        f"{streams} open SSE streams on waiting runs (one each, then all on one) vs none",
        [
            "state",
            "query/s",
            "describe/s",
            "API CPU %",
            "Temporal CPU %",
        ],
    )
    # Every stream comes from this one client: lift the per-client stream cap above them.
    async with BenchStack(extra={"api_max_streams_per_key": streams + 10}) as stack:
        assert stack.api is not None and stack.api.process is not None
        pids = {"API": stack.api.process.pid, "Temporal": stack.temporal_pid}
        ids = [f"sse-{i}" for i in range(streams)]
        await gather_limited([stack.post_run(r) for r in ids], 8)
        await stack.wait_waiting(ids)
        await asyncio.sleep(2)
        rows = [("no streams", await measure(stack.http, pids, window))]
        rows.append((f"{streams} open streams", await hold_and_measure(stack, pids, ids, window)))
        # Many streams of one run: one feed per run inside the API process, so one poller's cost.
        same = [ids[0]] * streams
        rows.append(
            (f"{streams} streams of one run", await hold_and_measure(stack, pids, same, window))
        )
        s = stack.settings
    for name, v in rows:
        result.add(name, v["query/s"], v["describe/s"], v["API CPU %"], v["Temporal CPU %"])
    result.notes.append(
        f"{window:.0f} s per row; API polls each stream {s.events_poll_min_s}-"
        f"{s.events_poll_max_s} s (describe, and a query only when history grew), keep-alive "
        f"{s.sse_keepalive_s} s. Expected: {streams}/{s.events_poll_max_s:.0f} describes/s "
        "and no queries on waiting runs; streams of one run share one poller in the API "
        f"process (1/{s.events_poll_max_s:.0f} describes/s) since the feed was shared."
    )
    return result


async def run(mode: str) -> Result:
    streams, window = {"tiny": (5, 2.0), "quick": (50, 10.0), "full": (50, 30.0)}[mode]
    return await measure_streams(streams, window)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--window", type=float, default=30.0)
    args = parser.parse_args()
    print(text_table(asyncio.run(measure_streams(args.streams, args.window))))
    exit_now(0)
