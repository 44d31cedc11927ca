"""Orchestration overhead per activity: a run's wall time against the sum of its activities.

A dedicated workflow (`bench/steps_workflow.py`) runs 10, 50 or 200 activities in a row on its
own in-process worker and task queue; each activity does a little work (`WORK_S`) and reports
its own duration. Overhead per activity = (wall time from start_workflow to the result - the
sum of the activities' own times) / the number of activities.
"""

from __future__ import annotations

import time
import uuid

from temporalio import activity
from temporalio.worker import Worker

from bench.report import Result, Target
from bench.stack import BenchStack
from bench.stats import median
from bench.steps_workflow import STEP, StepsWorkflow

WORK_S = 0.001
QUEUE = "bench-steps"


@activity.defn(name=STEP)
def step(index: int) -> float:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < WORK_S:  # a stand-in for real work, busy so it is exact
        pass
    return time.perf_counter() - t0


async def one_run(stack: BenchStack, steps: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    handle = await stack.client.start_workflow(
        StepsWorkflow.run, steps, id=f"steps-{uuid.uuid4().hex[:10]}", task_queue=QUEUE
    )
    busy = await handle.result()
    return time.perf_counter() - t0, busy


SIZES: dict[str, tuple[list[int], int]] = {
    "tiny": ([2, 5], 1),
    "quick": ([10, 50, 200], 3),
    "full": ([10, 50, 200], 7),
}


async def run(mode: str) -> Result:
    sizes, repeats = SIZES[mode]
    result = Result(
        "orchestration",
        "Orchestration overhead per activity",
        [
            "activities",
            "runs",
            "wall s (median)",
            "sum of activity s",
            "overhead ms/activity",
        ],
    )
    per: dict[int, float] = {}
    async with BenchStack(api=False, worker=False) as stack:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(4) as pool:
            worker = Worker(
                stack.client,
                task_queue=QUEUE,
                workflows=[StepsWorkflow],
                activities=[step],
                activity_executor=pool,
            )
            async with worker:
                await one_run(stack, 5)  # warm-up
                for steps in sizes:
                    runs = [await one_run(stack, steps) for _ in range(repeats)]
                    overhead = [(wall - busy) / steps * 1000 for wall, busy in runs]
                    per[steps] = median(overhead)
                    result.add(
                        steps,
                        repeats,
                        median([w for w, _ in runs]),
                        median([b for _, b in runs]),
                        per[steps],
                    )
    worst = max(per.values())
    result.targets.append(
        Target(
            "orchestration overhead < 20 ms per activity",
            " / ".join(f"{v:.1f}" for v in per.values()) + " ms at " + " / ".join(map(str, per)),
            worst < 20,
        )
    )
    growth = per[sizes[-1]] / per[sizes[0]]
    result.notes.append(
        "Each activity is a round trip: a workflow task schedules it, a worker polls it, its "
        "result is recorded, a new workflow task resumes the workflow. From "
        f"{sizes[0]} to {sizes[-1]} activities the cost per activity changes {growth:.2f}x."
    )
    return result
