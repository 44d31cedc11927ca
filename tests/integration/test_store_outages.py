"""Artifact store outages on a real dev server: a report whose write fails is retried without
asking the model again (the paid-for draft reaches the retry in Temporal's heartbeat details),
and saves wait out an outage of up to an hour instead of failing the run after ~30 s."""

from __future__ import annotations

import asyncio
import errno
import uuid
from datetime import timedelta

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from activities.llm import LLMActivities
from domain.run import Decision, RunOptions, RunStatus
from domain.state import ResearchInput
from providers.artifacts import ArtifactStore
from settings import Settings
from tests.fakes.llm_server import FakeLLM
from tests.helpers import pending_kind, wait_for_status
from worker import build_activities, build_worker
from workflows.research import ResearchWorkflow
from workflows.search_attributes import research_workflow_id


class FullOnceStore(ArtifactStore):
    """The disk is full for the first write of each report revision (its .json or .md,
    whichever comes first: the writer saves both, and the retry must get through)."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.refused: list[str] = []

    def write_text(self, key: str, text: str) -> str:
        revision = key.rsplit(".", 1)[0]
        if "/report-r" in key and revision not in {k.rsplit(".", 1)[0] for k in self.refused}:
            self.refused.append(key)
            raise OSError(errno.ENOSPC, "No space left on device", key)
        return super().write_text(key, text)


async def test_report_write_failure_does_not_pay_for_the_report_twice(
    client: Client, settings: Settings, llm: FakeLLM
) -> None:
    own = settings.model_copy(update={"task_queue": f"report-retry-{uuid.uuid4().hex[:8]}"})
    activities = await asyncio.to_thread(build_activities, own)
    llm_activities = next(
        fn.__self__ for fn in activities if isinstance(getattr(fn, "__self__", None), LLMActivities)
    )
    store = FullOnceStore(own.artifacts_dir)
    llm_activities.store = store
    run_id = f"retry-{uuid.uuid4().hex[:8]}"
    inp = ResearchInput(
        run_id=run_id,
        question="How is grid energy stored?",
        options=RunOptions(clarify=False, depth=1, breadth=2),
    )
    async with build_worker(client, own, activities):
        handle = await client.start_workflow(
            ResearchWorkflow.run, inp, id=research_workflow_id(run_id), task_queue=own.task_queue
        )
        view = await wait_for_status(handle, pending_kind("report"))
        assert len(store.refused) == 1, store.refused
        # One model call for the report although its activity ran twice.
        assert llm.count("ReportDraft") == 1
        attempts = [
            event.activity_task_started_event_attributes.attempt
            async for event in handle.fetch_history_events()
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        ]
        assert max(attempts) == 2, attempts
        # The run counts the report's tokens once: its usage is every call the model answered.
        assert view.usage.llm_calls == len(llm.calls)
        assert view.report_ref and store.read_text(view.report_ref).startswith("# ")

        # A rejection asks for a new draft: the saved one belongs to the first revision only.
        await handle.execute_update(
            ResearchWorkflow.decide,
            Decision(accepted=False, comment="Add costs.", request_id="r1"),
        )
        await wait_for_status(
            handle, lambda v: pending_kind("report")(v) and "report-r1" in (v.report_ref or "")
        )
        assert llm.count("ReportDraft") == 2 and len(store.refused) == 2
        await handle.execute_update(
            ResearchWorkflow.decide, Decision(accepted=True, request_id="a1")
        )
        assert (await asyncio.wait_for(handle.result(), 30)).status == RunStatus.completed

    # Saves retry without a count, for an hour: a disk freed within it loses nothing.
    saves = [
        event.activity_task_scheduled_event_attributes
        async for event in handle.fetch_history_events()
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and event.activity_task_scheduled_event_attributes.activity_type.name
        == "artifacts.save_json"
    ]
    assert saves
    for save in saves:
        assert save.retry_policy.maximum_attempts == 0
        assert save.schedule_to_close_timeout.ToTimedelta() == timedelta(hours=1)
