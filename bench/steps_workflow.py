"""A benchmark-only workflow: N activities in a row, each reporting its own duration.

Registered only on the orchestration benchmark's own worker and task queue, never by the
service. It calls the activity by name so no activity code enters the workflow sandbox.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

STEP = "bench.step"


@workflow.defn(name="BenchSteps")
class StepsWorkflow:
    @workflow.run
    async def run(self, steps: int) -> float:
        """Runs `steps` activities one after the other; the sum of their own times, in s."""
        total = 0.0
        for i in range(steps):
            total += await workflow.execute_activity(
                STEP, i, start_to_close_timeout=timedelta(seconds=30), result_type=float
            )
        return total
