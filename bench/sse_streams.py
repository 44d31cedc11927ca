"""What open SSE streams cost: queries and describes per second the API sends to Temporal, and
the CPU of the API and Temporal processes, with N streams on waiting runs versus none.

    uv run python bench/sse_streams.py [--streams 50] [--window 30]

Everything runs on loopback: a Temporal dev server, the scripted test LLM, a worker in this
process and the API as its own process (so its CPU is its own). The runs wait for answers to
their clarifying questions the whole time, which is what most runs do most of their life.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import httpx
from temporalio.client import Client

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from settings import Settings
from stack.temporal_server import TemporalDevServer
from tests.conftest import connect, free_port, write_corpus
from tests.fakes.llm_server import FakeLLM
from tests.live import ApiProcess
from worker import build_activities, build_worker
from workflows.research import ResearchWorkflow
from workflows.search_attributes import research_workflow_id

CALLS = re.compile(r'^research_api_temporal_calls_total\{call="(\w+)"\} ([0-9.e+]+)$', re.M)
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


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


async def main(streams: int, window: float) -> None:
    work = Path(tempfile.mkdtemp(prefix="sse-bench-"))
    temporal = TemporalDevServer(
        port=free_port(), ui_port=None, db_path=None, log_path=work / "temporal.log"
    )
    llm = FakeLLM()
    temporal.start()
    llm.start()
    settings = Settings(
        _env_file=None,
        temporal_address=temporal.address,
        task_queue="bench",
        llm_base_url=llm.base_url,
        llm_model="fake",
        docs_dirs=[write_corpus(work / "corpus")],
        data_dir=work,
    )
    api = ApiProcess(settings, free_port(), work / "api.log")
    client = await connect(temporal.address)
    activities = await asyncio.to_thread(build_activities, settings)
    try:
        async with build_worker(client, settings, activities):
            await asyncio.to_thread(api.start)
            assert api.process is not None and temporal._child and temporal._child.process
            pids = {"API": api.process.pid, "Temporal": temporal._child.process.pid}
            async with httpx.AsyncClient(base_url=api.url, timeout=60) as http:
                ids = [f"bench-{i}" for i in range(streams)]
                for run_id in ids:
                    body = {"question": "How is grid energy stored?", "run_id": run_id}
                    (await http.post("/api/v1/runs", json=body)).raise_for_status()
                await wait_all_waiting(client, ids)
                rows = [("no streams", await measure(http, pids, window))]
                opened = [asyncio.Event() for _ in ids]
                tasks = [
                    asyncio.create_task(hold_stream(http, r, e))
                    for r, e in zip(ids, opened, strict=True)
                ]
                await asyncio.gather(*(e.wait() for e in opened))
                await asyncio.sleep(api_poll_cap(settings))  # let every stream back off
                rows.append((f"{streams} open streams", await measure(http, pids, window)))
                for task in tasks:
                    task.cancel()
        print_table(rows, streams, window, settings)
    finally:
        api.kill()
        llm.stop()
        temporal.stop()


def api_poll_cap(settings: Settings) -> float:
    return settings.events_poll_max_s * 2


async def wait_all_waiting(client: Client, ids: list[str]) -> None:
    for run_id in ids:
        handle = client.get_workflow_handle_for(ResearchWorkflow.run, research_workflow_id(run_id))
        while True:
            view = await handle.query(ResearchWorkflow.get_status)
            if view.pending is not None:
                break
            await asyncio.sleep(0.2)


def print_table(
    rows: list[tuple[str, dict[str, float]]], n: int, window: float, settings: Settings
) -> None:
    columns = list(rows[0][1])
    print(
        f"\n{n} runs waiting for input; {window:.0f} s per row; poll "
        f"{settings.events_poll_min_s}-{settings.events_poll_max_s} s, keep-alive "
        f"{settings.sse_keepalive_s} s; {os.cpu_count()} CPUs\n"
    )
    print(f"{'':<18}" + "".join(f"{c:>16}" for c in columns))
    for name, values in rows:
        print(f"{name:<18}" + "".join(f"{values[c]:>16.2f}" for c in columns))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--window", type=float, default=30.0)
    args = parser.parse_args()
    asyncio.run(main(args.streams, args.window))
