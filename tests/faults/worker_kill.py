"""The worker SIGKILLed at random moments and started again, over and over, while runs go on.

The worker is its own process (`python -m worker`, as deployed). Kills land at uniform random
times, mid LLM call, mid workflow task or while idle, and a fresh worker starts right away. A
kill is held back while a search, read or save is running: those activities don't heartbeat, so
a kill there only means waiting out their 45 s start-to-close timeout before the same retry,
which would make the suite slow without testing anything new.
"""

from __future__ import annotations

import asyncio

from bench.stack import BenchStack
from bench.stats import median
from tests.faults.driver import drive
from tests.faults.harness import (
    SLOW_LLM,
    Tally,
    account_llm,
    audit_wave,
    hold_for_io,
    polling,
    run_ids,
    running,
    scenario_rng,
    waves,
    with_faults,
)

NAME = "worker SIGKILL"
EVERY_S = (1.0, 4.0)


async def run(runs: int, seed: int, parallel: int = 3) -> Tally:
    tally = Tally(NAME)
    rng = scenario_rng(seed, NAME)
    async with BenchStack(api=False) as stack:
        stack.llm.reset(delays=dict(SLOW_LLM))
        histories = []
        held_back = 0
        mid_call: list[bool] = []
        assert stack.worker is not None
        starts = [await polling(stack, stack.worker)]
        for wave in waves(run_ids("wk", runs), parallel):

            async def kill(ids: list[str] = wave) -> None:
                nonlocal held_back
                held_back += await hold_for_io(stack, ids)
                mid_call.append(bool(await running(stack, ids)))
                assert stack.worker is not None
                await asyncio.to_thread(stack.worker.kill)
                stack.worker = stack.new_worker()
                starts.append(await polling(stack, stack.worker))

            work = [drive(stack.client, stack.settings.task_queue, r) for r in wave]
            drives, fired = await with_faults(work, kill, rng, EVERY_S)
            tally.faults += fired
            histories += await audit_wave(stack, tally, wave, drives)
        account_llm(stack, tally, histories)
        tally.notes.append(
            f"{tally.faults} kills, {sum(mid_call)} of them mid LLM call, {held_back} held back "
            f"until an I/O call ended; a new worker polled after {median(starts):.1f} s (median)"
        )
    return tally
