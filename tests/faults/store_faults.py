"""The artifact store's disk full or read-only for seconds at a time, then writable again.

The worker runs as `python -m tests.fakes.faulty_store`: the production worker whose store fails
its writes while a flag file exists (ENOSPC at fsync, after the temp file was written; EROFS when
the temp file is created). Reads, source texts, reports and run records are all written through
that store, so outages land on every kind of write. The activities must fail, be retried, and
succeed once the disk is back; no half-written file may be left where a reader would find it.
"""

from __future__ import annotations

import asyncio

from bench.stack import BenchStack
from tests.faults.driver import drive
from tests.faults.harness import (
    ModuleWorker,
    Tally,
    account_llm,
    audit_wave,
    polling,
    run_ids,
    scenario_rng,
    waves,
    with_faults,
)

NAME = "artifact store full / read-only"
# An outage of at most 6 s, then at least 10 s of a writable disk: the reads' I/O retries
# (attempts at 0, 1, 3, 7, 15 and 31 s) cannot all land in outages, so every write must get
# through. Saves would wait out a longer outage (up to an hour, activities/table.py); a
# page text that cannot be stored within its read's retries is a failed source.
FIRST_S = (0.5, 2.0)
EVERY_S = (10.0, 15.0)
DOWN_S = (1.0, 6.0)
ERRNOS = ("ENOSPC", "EROFS")


async def run(runs: int, seed: int, parallel: int = 3) -> Tally:
    tally = Tally(NAME)
    rng = scenario_rng(seed, NAME)
    async with BenchStack(api=False, worker=False) as stack:
        stack.llm.reset(delays={"NotesDraft": 0.3, "ReportDraft": 0.3})
        flag = stack.work / "store-fault"
        env = {"FAULTS_STORE_FLAG": str(flag)}
        stack.worker = ModuleWorker(stack, "tests.fakes.faulty_store", env).start()
        await polling(stack, stack.worker)
        histories = []
        kinds: list[str] = []
        for wave in waves(run_ids("sf", runs), parallel):

            async def outage() -> None:
                kinds.append(rng.choice(ERRNOS))
                await asyncio.to_thread(flag.write_text, kinds[-1])
                await asyncio.sleep(rng.uniform(*DOWN_S))
                await asyncio.to_thread(flag.unlink)

            work = [drive(stack.client, stack.settings.task_queue, r) for r in wave]
            drives, fired = await with_faults(work, outage, rng, EVERY_S, FIRST_S)
            tally.faults += fired
            histories += await audit_wave(stack, tally, wave, drives)
        account_llm(stack, tally, histories)
        leftovers = [p.name for p in stack.settings.artifacts_dir.rglob("*.tmp")]
        if leftovers:
            tally.problems.append(f"half-written files left in the store: {leftovers}")
        tally.notes.append(
            f"{kinds.count('ENOSPC')} disk-full and {kinds.count('EROFS')} read-only outages "
            f"of {DOWN_S[0]:.0f}-{DOWN_S[1]:.0f} s"
        )
    return tally
