"""An activity task that no worker ever starts is scheduled again instead of stalling the run.

Temporal's start-to-close and heartbeat timeouts only run once an attempt has started; a task
lost before that (handed to a poller just as the server died: the fault suite saw a run wait in
`planning` for 5 minutes) would wait forever. Here the LLM queue has no worker at first, so the
plan's task is not started within the run's `task_start_timeout` (shortened to 2 s) and the
workflow schedules it again; once an LLM worker polls, the run goes on. Real dev server.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from temporalio.api.enums.v1 import EventType, TimeoutType
from temporalio.client import Client
from temporalio.worker import Worker

from activities.llm import LLMActivities
from activities.table import task_queue
from domain.run import RunOptions, RunStatus
from domain.state import ResearchInput
from settings import Settings
from tests.fakes.llm_server import FakeLLM
from worker import WORKFLOWS, build_activities, closable_owners
from workflows.research import ResearchWorkflow
from workflows.search_attributes import research_workflow_id


async def test_a_task_no_worker_starts_is_scheduled_again(
    client: Client, settings: Settings, llm: FakeLLM
) -> None:
    queue = f"lost-{uuid.uuid4().hex[:8]}"
    activities = await asyncio.to_thread(build_activities, settings)
    llm_calls = [f for f in activities if isinstance(getattr(f, "__self__", None), LLMActivities)]
    others = [f for f in activities if f not in llm_calls]
    run_id = f"lost-{uuid.uuid4().hex[:8]}"
    inp = ResearchInput(
        run_id=run_id,
        question="How is grid energy stored?",
        options=RunOptions(clarify=False, require_acceptance=False, depth=1, breadth=1),
        task_start_timeout=timedelta(seconds=2),
    )
    main = Worker(client, task_queue=queue, workflows=WORKFLOWS, activities=others)
    llm_worker = Worker(client, task_queue=task_queue(queue, "llm"), activities=llm_calls)
    try:
        async with main:
            handle = await client.start_workflow(
                ResearchWorkflow.run, inp, id=research_workflow_id(run_id), task_queue=queue
            )
            # No LLM worker yet: the plan waits in its queue past the 2 s, twice.
            await asyncio.sleep(5)
            async with llm_worker:
                final = await asyncio.wait_for(handle.result(), 60)
            events = (await handle.query(ResearchWorkflow.get_events, 0)).events
    finally:
        for owner in closable_owners(activities):
            await owner.aclose()

    assert final.status in (RunStatus.completed, RunStatus.completed_with_gaps), final.error
    timeouts = [
        event.activity_task_timed_out_event_attributes.failure.timeout_failure_info.timeout_type
        async for event in handle.fetch_history_events()
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT
    ]
    assert timeouts and set(timeouts) == {TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START}
    requeued = [e for e in events if e.type == "task_requeued"]
    assert len(requeued) == len(timeouts) and requeued[0].data["activity"] == "llm.plan"
    assert "no worker started it in 2 s" in requeued[0].message
    # The plan (the only plain-text call) ran once: the timed-out tasks never reached a worker.
    assert llm.count("text") == 1
