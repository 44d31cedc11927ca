"""The Temporal dev server SIGKILLed mid-run and started again on the same port and SQLite file.

Everything a run is lives in that file: history, timers, pending activities, accepted updates.
While the server is down the worker process and this process's client both lose it; they must
pick up where they were once it is back, and the person's decisions sent around the outage
(retried with the same update id) must land exactly once.
"""

from __future__ import annotations

import asyncio

from bench.stack import BenchStack
from tests.faults.driver import drive
from tests.faults.harness import (
    SLOW_LLM,
    Tally,
    account_llm,
    audit_wave,
    polling,
    run_ids,
    scenario_rng,
    waves,
    with_faults,
)

NAME = "Temporal server SIGKILL + restart"
EVERY_S = (1.5, 5.0)
DOWN_S = (0.2, 2.0)


async def run(runs: int, seed: int, parallel: int = 3) -> Tally:
    tally = Tally(NAME)
    rng = scenario_rng(seed, NAME)
    async with BenchStack(api=False) as stack:
        stack.llm.reset(delays=dict(SLOW_LLM))
        assert stack.worker is not None
        await polling(stack, stack.worker)
        histories = []
        for wave in waves(run_ids("ts", runs), parallel):

            async def restart() -> None:
                await asyncio.to_thread(stack.temporal.kill)
                await asyncio.sleep(rng.uniform(*DOWN_S))
                await asyncio.to_thread(stack.temporal.start)

            work = [drive(stack.client, stack.settings.task_queue, r) for r in wave]
            drives, fired = await with_faults(work, restart, rng, EVERY_S)
            tally.faults += fired
            histories += await audit_wave(stack, tally, wave, drives)
        account_llm(stack, tally, histories)
        tally.notes.append(f"{tally.faults} server kills, each down {DOWN_S[0]}-{DOWN_S[1]} s")
    return tally
