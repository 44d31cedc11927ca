"""A reminder every second on a long wait stops at the cap: a wait sends at most
MAX_REMINDERS_PER_WAIT reminders, then one `reminders_stopped` event, and the wait goes on to
its own deadline."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker

from domain.run import RunOptions, RunStatus
from domain.state import ResearchInput
from settings import Settings
from tests.fakes.llm_server import FakeLLM
from workflows.reminders import MAX_REMINDERS_PER_WAIT
from workflows.research import ResearchWorkflow
from workflows.search_attributes import research_workflow_id


async def test_reminders_every_second_stop_at_the_cap(
    client: Client, worker: Worker, settings: Settings, llm: FakeLLM, run_id: str
) -> None:
    # The deadline leaves room for several reminders past the cap.
    wait = timedelta(seconds=MAX_REMINDERS_PER_WAIT + 5)
    options = RunOptions(
        clarify=False, depth=1, breadth=1, remind_every=timedelta(seconds=1), input_timeout=wait
    )
    inp = ResearchInput(run_id=run_id, question="How is grid energy stored?", options=options)
    handle = await client.start_workflow(
        ResearchWorkflow.run, inp, id=research_workflow_id(run_id), task_queue=settings.task_queue
    )
    final = await handle.result()
    assert final.status == RunStatus.expired
    assert final.progress.reminders_sent == MAX_REMINDERS_PER_WAIT
    events = (await handle.query(ResearchWorkflow.get_events, 0)).events
    types = [e.type for e in events]
    assert types.count("reminder_sent") == MAX_REMINDERS_PER_WAIT
    stopped = [e for e in events if e.type == "reminders_stopped"]
    assert len(stopped) == 1 and stopped[0].data == {
        "kind": "report",
        "sent": MAX_REMINDERS_PER_WAIT,
    }
    # Stopped after the last reminder, before the wait expired.
    assert types.index("reminders_stopped") > max(
        i for i, t in enumerate(types) if t == "reminder_sent"
    )
