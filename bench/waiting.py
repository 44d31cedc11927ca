"""Waiting runs at scale: N runs all stopped at `awaiting_input` (the clarifying questions).

For each N, on a fresh stack: worker and Temporal server resident memory and the SQLite file
size while they wait (against the same stack idle), GET /runs/{id} p95 over random waiting
runs, then the time to answer all of them over the API and see every one finish.
"""

from __future__ import annotations

import asyncio
import random
import time

from bench.report import Result, Target
from bench.stack import BenchStack, gather_limited
from bench.stats import file_mb, median, pct, rss_mb, timed_ms

CONCURRENCY = 8
STATUS_CALLS = 500
# No report review, so a skipped clarification runs straight through to the end.
OPTIONS: dict[str, object] = {"depth": 1, "breadth": 1, "require_acceptance": False}


def footprint(stack: BenchStack) -> tuple[float, float, float]:
    assert stack.worker is not None
    return rss_mb(stack.worker.pid), rss_mb(stack.temporal_pid), file_mb(stack.db_path)


async def one_size(n: int, result: Result) -> dict[str, float]:
    async with BenchStack() as stack:
        await stack.wait_waiting([])
        await asyncio.sleep(3)  # the worker has imported and polled
        idle = footprint(stack)
        result.add("idle stack", 0, *idle, None, None, None)
        ids = [f"w-{i}" for i in range(n)]
        t0 = time.perf_counter()
        await gather_limited([stack.post_run(r, OPTIONS) for r in ids], CONCURRENCY)
        await stack.wait_waiting(ids, limit_s=1800)
        to_wait = time.perf_counter() - t0
        await asyncio.sleep(2)
        waiting = footprint(stack)

        async def get(run_id: str) -> None:
            (await stack.http.get(f"/api/v1/runs/{run_id}")).raise_for_status()

        picks = [random.choice(ids) for _ in range(STATUS_CALLS)]
        lat = await gather_limited([timed_ms(lambda r=r: get(r)) for r in picks], CONCURRENCY)

        async def answer(run_id: str) -> None:
            url = f"/api/v1/runs/{run_id}/clarification"
            (await stack.http.post(url, json={"skip": True})).raise_for_status()

        t1 = time.perf_counter()
        await gather_limited([answer(r) for r in ids], CONCURRENCY)
        await gather_limited([stack.handle(r).result() for r in ids], 64)
        to_finish = time.perf_counter() - t1
    row = {
        "worker_mb": waiting[0],
        "temporal_mb": waiting[1],
        "sqlite_mb": waiting[2],
        "p50": median(lat),
        "p95": pct(lat, 95),
        "finish_s": to_finish,
        "worker_delta": waiting[0] - idle[0],
    }
    result.add(f"{n} waiting", n, *waiting, row["p95"], to_wait, to_finish)
    return row


SIZES = {"tiny": [10], "quick": [200], "full": [100, 1000]}


async def run(mode: str) -> Result:
    sizes = SIZES[mode]
    result = Result(
        "waiting",
        "Waiting runs at scale",
        [
            "state",
            "runs",
            "worker RSS MB",
            "Temporal RSS MB",
            "SQLite MB",
            "status p95 ms",
            "start->all waiting s",
            "answer->all finished s",
        ],
    )
    rows = {n: await one_size(n, result) for n in sizes}
    big = max(sizes)
    last = rows[big]
    per_run_kb = last["worker_delta"] * 1024 / big
    projected = last["worker_mb"] + per_run_kb * (1000 - big) / 1024
    result.targets.append(
        Target(
            "1,000 waiting runs: worker < 500 MB",
            f"{last['worker_mb']:.0f} MB at {big}"
            + ("" if big >= 1000 else f" (projected {projected:.0f} MB at 1,000)"),
            projected < 500,
        )
    )
    result.targets.append(
        Target(
            "status p95 < 50 ms while they wait", f"{last['p95']:.1f} ms at {big}", last["p95"] < 50
        )
    )
    result.notes.append(
        f"worker grows {per_run_kb:.0f} KB per waiting run (sticky workflow cache); "
        f"status p95 over {STATUS_CALLS} GETs at concurrency {CONCURRENCY}; "
        "answering = POST /clarification skip, then await every result."
    )
    return result
