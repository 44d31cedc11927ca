"""Facade overhead: the API against raw Temporal, interleaved in batches.

- GET /api/v1/runs/{id} against `handle.query(get_status)` of the same waiting runs, at a fixed
  concurrency; p50 and p95 of each.
- POST /api/v1/runs against `start_research_run` (the recipe the API itself calls, so the same
  input, memo and search attributes) straight on the client; runs started per second.
"""

from __future__ import annotations

import time
import uuid

from api.runs_service import start_research_run
from bench.report import Result, Target
from bench.stack import QUESTION, BenchStack, gather_limited
from bench.stats import median, pct, timed_ms
from domain.run import RunOptions
from workflows.research import ResearchWorkflow

CONCURRENCY = 8
BATCH = 50


async def raw_start(stack: BenchStack, run_id: str) -> None:
    # The API's own recipe, called straight on the client: the difference is the HTTP facade.
    await start_research_run(
        stack.client,
        stack.settings,
        run_id=run_id,
        question=QUESTION,
        options=RunOptions(depth=1),
        owner="anonymous",
    )


async def status_pair(
    stack: BenchStack, ids: list[str], calls: int, concurrency: int = CONCURRENCY
) -> tuple[list[float], ...]:
    api: list[float] = []
    raw: list[float] = []

    async def get(run_id: str) -> None:
        resp = await stack.http.get(f"/api/v1/runs/{run_id}")
        resp.raise_for_status()

    for n in range(0, calls, BATCH):
        picks = [ids[(n + i) % len(ids)] for i in range(BATCH)]
        api_batch = [timed_ms(lambda r=r: get(r)) for r in picks]
        raw_batch = [
            timed_ms(lambda r=r: stack.handle(r).query(ResearchWorkflow.get_status)) for r in picks
        ]
        first, second = (api_batch, raw_batch) if n // BATCH % 2 == 0 else (raw_batch, api_batch)
        a = await gather_limited(first, concurrency)
        b = await gather_limited(second, concurrency)
        (api if first is api_batch else raw).extend(a)
        (raw if first is api_batch else api).extend(b)
    return api, raw


async def start_pair(stack: BenchStack, starts: int) -> tuple[float, float]:
    spent = {"api": 0.0, "raw": 0.0}
    done = {"api": 0, "raw": 0}
    for n in range(0, starts, BATCH):
        for kind in ("api", "raw") if n // BATCH % 2 == 0 else ("raw", "api"):
            ids = [f"s-{kind}-{uuid.uuid4().hex[:10]}" for _ in range(BATCH)]
            coros = [stack.post_run(r) if kind == "api" else raw_start(stack, r) for r in ids]
            t0 = time.perf_counter()
            await gather_limited(coros, CONCURRENCY)
            spent[kind] += time.perf_counter() - t0
            done[kind] += BATCH
    return done["api"] / spent["api"], done["raw"] / spent["raw"]


SIZES = {"tiny": (100, 100, 4), "quick": (1000, 200, 20), "full": (3000, 1000, 50)}


async def run(mode: str) -> Result:
    calls, starts, runs = SIZES[mode]
    result = Result(
        "facade",
        "Facade overhead: API vs raw Temporal",
        ["series", "calls", "p50 ms", "p95 ms", "runs/s", "ratio API/raw"],
    )
    async with BenchStack() as stack:
        ids = [f"f-{i}" for i in range(runs)]
        await gather_limited([stack.post_run(r) for r in ids], CONCURRENCY)
        await stack.wait_waiting(ids)
        await status_pair(stack, ids, 100)  # warm-up, not counted
        api, raw = await status_pair(stack, ids, calls)
        api1, raw1 = await status_pair(stack, ids, calls // 5, 1)
        api_rate, raw_rate = await start_pair(stack, starts)
    ratio50, ratio95 = median(api) / median(raw), pct(api, 95) / pct(raw, 95)
    result.add("GET /runs/{id}", len(api), median(api), pct(api, 95), None, ratio95)
    result.add("raw query get_status", len(raw), median(raw), pct(raw, 95), None, 1.0)
    ratio1 = pct(api1, 95) / pct(raw1, 95)
    result.add(
        "GET /runs/{id}, concurrency 1", len(api1), median(api1), pct(api1, 95), None, ratio1
    )
    result.add("raw query, concurrency 1", len(raw1), median(raw1), pct(raw1, 95), None, 1.0)
    result.add("POST /runs", starts, None, None, api_rate, api_rate / raw_rate)
    result.add("raw start_workflow", starts, None, None, raw_rate, 1.0)
    result.targets += [
        Target("status p95 < 50 ms", f"{pct(api, 95):.1f} ms", pct(api, 95) < 50),
        Target(
            "status p95 <= 1.3x raw query", f"{ratio95:.2f}x (p50 {ratio50:.2f}x)", ratio95 <= 1.3
        ),
        Target("starts >= 0.8x raw", f"{api_rate / raw_rate:.2f}x", api_rate / raw_rate >= 0.8),
    ]
    result.notes.append(
        f"API overhead per status call: {median(api) - median(raw):.1f} ms p50 at concurrency "
        f"{CONCURRENCY}, {median(api1) - median(raw1):.1f} ms at concurrency 1."
    )
    result.notes.append(
        f"concurrency {CONCURRENCY} unless named, batches of {BATCH} alternating API/raw, "
        f"{runs} runs waiting at awaiting_input; ratio column is p95 for GET."
    )
    return result
