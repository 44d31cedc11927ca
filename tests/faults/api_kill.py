"""The API process SIGKILLed while requests are in flight, then started again on the same port.

Each wave's runs are started, answered, rejected and accepted over REST, each step as one burst
of concurrent requests with the API killed a random instant after they were sent. A client
whose request was cut retries it unchanged (same run_id, same request_id), as the contract
says it may. Before each retry the suite looks at Temporal to see whether the cut request had
already taken effect, so the notes show how often the kill hit after the effect landed: those
retries must answer with the first result (409 run_exists, or the same decision), never a
second start or a second decision.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from temporalio.service import RPCError

from api.updates import update_id
from bench.stack import BenchStack
from domain.run import TERMINAL_STATUSES, RunStatus
from tests.faults.audit import read_history, same_update
from tests.faults.driver import ANSWER, COMMENT, OPTIONS, QUESTION, Drive
from tests.faults.harness import (
    SLOW_LLM,
    Tally,
    account_llm,
    audit_wave,
    polling,
    run_ids,
    scenario_rng,
    waves,
)

NAME = "API SIGKILL mid-request"
KILL_AFTER_S = (0.0, 0.15)
RUNS = "/api/v1/runs"
Request = tuple[str, dict[str, Any], int, Callable[[], Awaitable[bool]]]


async def view(http: httpx.AsyncClient, run_id: str) -> dict[str, Any] | None:
    try:
        resp = await http.get(f"{RUNS}/{run_id}", timeout=10)
    except httpx.TransportError:
        return None
    return resp.json() if resp.status_code == 200 else None


async def until_view(
    http: httpx.AsyncClient, run_id: str, ok: Callable[[dict[str, Any]], bool], within: float = 300
) -> dict[str, Any]:
    deadline, last = time.monotonic() + within, None
    while time.monotonic() < deadline:
        last = await view(http, run_id) or last
        if last is not None and ok(last):
            return last
        await asyncio.sleep(0.3)
    raise AssertionError(f"{run_id}: not reached in {within:.0f}s; last {last}")


def awaiting(kind: str, revision: int) -> Callable[[dict[str, Any]], bool]:
    def ok(v: dict[str, Any]) -> bool:
        pending = v.get("pending") or {}
        return pending.get("kind") == kind and pending.get("revision") == revision

    return ok


async def burst(
    stack: BenchStack, rng: random.Random, reqs: list[Request], seen: Counter[str]
) -> list[str]:
    """Send `reqs` at once, kill the API mid-flight, restart it, retry what was cut.
    Returns a problem line for every answer that is not the expected one."""
    sent = [asyncio.ensure_future(stack.http.post(path, json=body)) for path, body, _, _ in reqs]
    await asyncio.sleep(rng.uniform(*KILL_AFTER_S))
    assert stack.api is not None
    await asyncio.to_thread(stack.api.kill)
    firsts = await asyncio.gather(*sent, return_exceptions=True)
    await asyncio.to_thread(stack.api.start)
    problems = []
    for (path, body, want, landed), first in zip(reqs, firsts, strict=True):
        if isinstance(first, httpx.Response):
            seen["answered before the kill"] += 1
            resp = first
        else:
            if not isinstance(first, httpx.TransportError):
                problems.append(f"POST {path}: {first!r}")
                continue
            took = await landed()
            seen["cut after it took effect" if took else "cut before it took effect"] += 1
            resp = await stack.http.post(path, json=body)
            # A start that landed is a duplicate now: 409 run_exists is the one right answer.
            want = 409 if took and path == RUNS else want
        if resp.status_code != want:
            problems.append(f"POST {path}: {resp.status_code} {resp.text[:200]}")
        elif want == 409 and resp.json().get("error_code") != "run_exists":
            problems.append(f"POST {path}: 409 {resp.json().get('error_code')}")
    return problems


async def run(runs: int, seed: int, parallel: int = 3) -> Tally:
    tally = Tally(NAME)
    rng = scenario_rng(seed, NAME)
    seen: Counter[str] = Counter()
    async with BenchStack(api=True) as stack:
        stack.llm.reset(delays=dict(SLOW_LLM))
        assert stack.worker is not None
        await polling(stack, stack.worker)
        histories = []
        for wave in waves(run_ids("ak", runs), parallel):
            drives = [Drive(r) for r in wave]
            problems = await _play(stack, rng, drives, seen)
            tally.faults += 4
            tally.problems += problems
            histories += await audit_wave(stack, tally, wave, drives)
            for run_id in wave:
                resp = await stack.http.get(f"{RUNS}/{run_id}/report")
                if resp.status_code != 200 or not resp.text.startswith("# "):
                    tally.problems.append(f"{run_id}: GET report {resp.status_code}")
        account_llm(stack, tally, histories)
    tally.notes.append(", ".join(f"{n} requests {what}" for what, n in sorted(seen.items())))
    return tally


async def _play(
    stack: BenchStack, rng: random.Random, drives: list[Drive], seen: Counter[str]
) -> list[str]:
    """Start, answer, reject and accept every run of the wave, each step through a kill."""
    http = stack.http

    def started(run_id: str) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            try:
                await stack.handle(run_id).describe()
                return True
            except RPCError:
                return False

        return check

    def accepted(run_id: str, uid: str) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            history = await read_history(stack.handle(run_id))
            return any(same_update(got, uid) for got in history.update_ids)

        return check

    body = {"question": QUESTION, "options": OPTIONS.model_dump(mode="json")}
    reqs = [(RUNS, {**body, "run_id": d.run_id}, 202, started(d.run_id)) for d in drives]
    problems = await burst(stack, rng, reqs, seen)
    steps = [("clarification", 0, True, ""), ("report", 0, False, COMMENT), ("report", 1, True, "")]
    for kind, revision, ok, comment in steps:
        reqs = []
        for d in drives:
            v = await until_view(http, d.run_id, awaiting(kind, revision))
            rid = uuid.uuid4().hex
            if kind == "clarification":
                qid = v["pending"]["questions"][0]["id"]
                path, body = "clarification", {"answers": {qid: ANSWER}, "request_id": rid}
                d.decisions.append(("clarification", True, ""))
            else:
                path, body = "acceptance", {"accepted": ok, "comment": comment, "request_id": rid}
                d.decisions.append(("report decision", ok, comment))
            d.update_ids.append(update_id(path, rid) or "")
            reqs.append(
                (f"{RUNS}/{d.run_id}/{path}", body, 200, accepted(d.run_id, d.update_ids[-1]))
            )
        problems += await burst(stack, rng, reqs, seen)
    for d in drives:
        final = await until_view(http, d.run_id, lambda v: v["status"] in TERMINAL_STATUSES)
        if final["status"] != RunStatus.completed:
            problems.append(f"{d.run_id}: API says {final['status']}")
    return problems
