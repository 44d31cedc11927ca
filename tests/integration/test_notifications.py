"""Reminders, escalation and webhook notifications of a run waiting for its reviewer, on the
dev server: a stub receiver on loopback answers 500 to each notification's first delivery and
200 after, and every notification still arrives, once, signed."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from temporalio.client import Client

from api.deps import get_temporal_client
from api.main import create_app
from domain.notify import NotifyOptions
from domain.run import Decision, RunOptions, RunStatus
from domain.state import ResearchInput
from settings import Settings
from tests.fakes.llm_server import FakeLLM
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.helpers import pending_kind, wait_for_status
from tests.helpers.frontends import RUNS, pending, poll
from tests.helpers.stack import skip_time
from worker import build_activities, build_worker
from workflows.research import ResearchWorkflow
from workflows.search_attributes import REMINDERS_SENT, research_workflow_id

SECRET = "whsec-test"


@dataclass
class NotifyStack:
    settings: Settings
    receiver: WebhookReceiver


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    stub = WebhookReceiver(SECRET, failures=1).start()
    yield stub
    stub.stop()


@pytest.fixture
async def notify_stack(
    client: Client, settings: Settings, receiver: WebhookReceiver
) -> AsyncIterator[NotifyStack]:
    """A worker of its own whose settings name a deployment webhook and the signing secret."""
    mine = settings.model_copy(
        update={
            "task_queue": f"research-notify-{uuid.uuid4().hex[:8]}",
            "notify_urls": [f"{receiver.url}/deployment"],
            "notify_secret": SecretStr(SECRET),
            "notify_allow_private": True,  # the receiver is on loopback
        }
    )
    activities = await asyncio.to_thread(build_activities, mine)
    async with build_worker(client, mine, activities):
        yield NotifyStack(mine, receiver)


async def wait_until(check, within: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.2)


async def test_reminders_escalation_and_signed_notifications(
    client: Client, notify_stack: NotifyStack, llm: FakeLLM, run_id: str
) -> None:
    receiver = notify_stack.receiver
    options = RunOptions(
        clarify=False,
        depth=1,
        breadth=1,
        remind_after=timedelta(seconds=2),
        remind_every=timedelta(seconds=2),
        escalate_after=timedelta(seconds=3),
        escalate_to="editors",
        notify=NotifyOptions(urls=[f"{receiver.url}/run"]),
    )
    inp = ResearchInput(
        run_id=run_id, question="How is grid energy stored?", options=options, created_by="ada"
    )
    inp.notify_deployment = True  # what the API sets when its settings name notify_urls
    handle = await client.start_workflow(
        ResearchWorkflow.run,
        inp,
        id=research_workflow_id(run_id),
        task_queue=notify_stack.settings.task_queue,
    )
    await wait_for_status(handle, pending_kind("report"))
    await wait_for_status(
        handle,
        lambda v: (
            v.progress.reminders_sent >= 2
            and v.pending is not None
            and v.pending.escalated_to == "editors"
        ),
        within=30,
    )
    await handle.execute_update(
        ResearchWorkflow.decide, Decision(accepted=True, decided_by="grace")
    )
    final = await handle.result()
    assert final.status == RunStatus.completed
    reminders = final.progress.reminders_sent
    assert reminders >= 2

    # Visible to operators: the RemindersSent search attribute.
    desc = await handle.describe()
    assert desc.typed_search_attributes.get(REMINDERS_SENT) == reminders

    events = (await handle.query(ResearchWorkflow.get_events, 0)).events
    types = [e.type for e in events]
    assert types.count("reminder_sent") == reminders
    escalated = [e for e in events if e.type == "escalated"]
    assert len(escalated) == 1 and escalated[0].data["to"] == "editors"
    decided = [e for e in events if e.type == "input_received"][-1]
    assert decided.data["by"] == "grace" and decided.data["escalated_to"] == "editors"
    # Deliveries of the notifications sent while the run was open came back as events; the
    # deployment's URL is not shown to the run's owner.
    delivered = [e for e in events if e.type == "notification_delivered"]
    assert {e.data["url"] for e in delivered} == {f"{receiver.url}/run", "deployment webhook"}
    assert "notification_failed" not in types

    # One notification per event: input awaited, each reminder, the escalation, the end.
    expected = 1 + reminders + 1 + 1
    for path in ("/deployment", "/run"):
        await wait_until(lambda p=path: len(receiver.accepted(p)) >= expected)  # type: ignore[misc]
        accepted = receiver.accepted(path)
        ids = [r.event_id for r in accepted]
        assert len(ids) == len(set(ids)) == expected, f"{path}: {ids}"
        assert all(r.signed for r in accepted), f"{path}: a delivery with a bad signature"
        assert all(r.body["id"] == r.event_id for r in accepted)
        kinds = sorted(r.body["type"] for r in accepted)
        assert kinds == sorted(
            ["input_awaited", "escalated", "finished"] + ["reminder"] * reminders
        )
        # Each was refused once (500) first, and retried until it was taken.
        refused = [r for r in receiver.received if r.path == path and r.status == 500]
        assert sorted(r.event_id for r in refused) == sorted(ids)
    finished = next(r for r in receiver.accepted("/run") if r.body["type"] == "finished")
    assert finished.body["status"] == "completed" and finished.body["run_id"] == run_id


async def test_run_without_webhooks_or_reminders_starts_no_notifications(
    client: Client, notify_stack: NotifyStack, llm: FakeLLM, run_id: str
) -> None:
    inp = ResearchInput(
        run_id=run_id,
        question="How is grid energy stored?",
        options=RunOptions(clarify=False, depth=1, breadth=1, require_acceptance=False),
    )
    handle = await client.start_workflow(
        ResearchWorkflow.run,
        inp,
        id=research_workflow_id(run_id),
        task_queue=notify_stack.settings.task_queue,
    )
    final = await handle.result()
    assert final.status == RunStatus.completed and final.progress.reminders_sent == 0
    history = await handle.fetch_history()
    started_children = [
        e
        for e in history.events
        if e.HasField("start_child_workflow_execution_initiated_event_attributes")
    ]
    assert started_children == []
    assert notify_stack.receiver.received == []


async def test_options_over_rest_and_event_choice(
    client: Client, notify_stack: NotifyStack, llm: FakeLLM, run_id: str
) -> None:
    """ISO-8601 durations through the API; the run's URL gets only the events it chose, the
    deployment's (named in the API's settings) gets them all; the view shows the escalation."""
    receiver = notify_stack.receiver
    app = create_app(notify_stack.settings)
    app.dependency_overrides[get_temporal_client] = lambda: client
    options = {
        "clarify": False,
        "depth": 1,
        "breadth": 1,
        "remind_every": "PT1S",
        "escalate_after": "PT2S",
        "escalate_to": "editors",
        "notify": {"urls": [f"{receiver.url}/run"], "events": ["reminder"]},
    }
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as api:
        bad = {**options, "escalate_to": None}
        assert (await api.post(RUNS, json={"question": "Q?", "options": bad})).status_code == 422
        body = {"question": "How is grid energy stored?", "run_id": run_id, "options": options}
        assert (await api.post(RUNS, json=body)).status_code == 202
        view = await poll(
            api,
            run_id,
            lambda v: (
                pending("report")(v)
                and v["pending"]["escalated_to"] == "editors"
                and v["progress"]["reminders_sent"] >= 1
            ),
        )
        decision = {"accepted": True, "decided_by": "grace"}
        resp = await api.post(f"{RUNS}/{run_id}/acceptance", json=decision)
        assert resp.status_code == 200, resp.text
        view = await poll(api, run_id, lambda v: v["status"] == "completed")
    reminders = view["progress"]["reminders_sent"]
    await wait_until(lambda: len(receiver.accepted("/run")) >= reminders)
    await wait_until(lambda: len(receiver.accepted("/deployment")) >= reminders + 3)
    assert {r.body["type"] for r in receiver.accepted("/run")} == {"reminder"}
    deployment = {r.body["type"] for r in receiver.accepted("/deployment")}
    assert deployment == {"input_awaited", "reminder", "escalated", "finished"}


async def test_reviewer_who_ignores_a_run_for_a_day_is_reminded(
    client: Client, notify_stack: NotifyStack, llm: FakeLLM, run_id: str
) -> None:
    """`remind_after: P1D` on the server's skipped clock: the day-long timer fires and the
    reminder reaches the webhook; the deadline still holds, and the run ends `expired`."""
    receiver = notify_stack.receiver
    options = RunOptions(
        clarify=False,
        depth=1,
        breadth=1,
        remind_after=timedelta(days=1),
        input_timeout=timedelta(days=3),
        notify=NotifyOptions(urls=[f"{receiver.url}/run"], events=["reminder"]),
    )
    inp = ResearchInput(run_id=run_id, question="How is grid energy stored?", options=options)
    handle = await client.start_workflow(
        ResearchWorkflow.run,
        inp,
        id=research_workflow_id(run_id),
        task_queue=notify_stack.settings.task_queue,
    )
    waiting = await wait_for_status(handle, pending_kind("report"))
    assert waiting.pending is not None
    await skip_time(client, handle.id)
    final = await handle.result()
    assert final.status == RunStatus.expired and final.progress.reminders_sent == 1
    events = (await handle.query(ResearchWorkflow.get_events, 0)).events
    reminder_at = next(e.at for e in events if e.type == "reminder_sent")
    assert reminder_at - waiting.pending.since >= timedelta(days=1)
    await wait_until(lambda: len(receiver.accepted("/run")) == 1)
    reminder = receiver.accepted("/run")[0]
    assert reminder.signed and reminder.body["data"]["kind"] == "report"


async def test_a_receiver_that_refuses_is_a_failed_notification(
    client: Client, notify_stack: NotifyStack, llm: FakeLLM, run_id: str
) -> None:
    """A 4xx other than 408/429 is final: one try, a `notification_failed` event, run unharmed."""
    receiver = notify_stack.receiver
    options = RunOptions(notify=NotifyOptions(urls=[f"{receiver.url}/gone"]))
    inp = ResearchInput(run_id=run_id, question="How is grid energy stored?", options=options)
    handle = await client.start_workflow(
        ResearchWorkflow.run,
        inp,
        id=research_workflow_id(run_id),
        task_queue=notify_stack.settings.task_queue,
    )
    await wait_for_status(handle, pending_kind("clarification"))

    async def failed() -> list[Any]:
        events = (await handle.query(ResearchWorkflow.get_events, 0)).events
        return [e for e in events if e.type == "notification_failed"]

    deadline = time.monotonic() + 30
    while not (found := await failed()):
        assert time.monotonic() < deadline, "no notification_failed event"
        await asyncio.sleep(0.2)
    assert found[0].data["url"] == f"{receiver.url}/gone" and "410" in found[0].data["error"]
    assert [r.status for r in receiver.received] == [410]
    view = await handle.query(ResearchWorkflow.get_status)
    assert view.status == RunStatus.awaiting_input
    await handle.cancel()
