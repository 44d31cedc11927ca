"""A deployment webhook's URL is the operator's secret (Slack-style URLs carry a token in their
path): when it refuses a notification, the run owner's event log says that the deployment
webhook failed and why, without its path or query, on the dev server."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import pytest
from temporalio.client import Client

from domain.run import RunOptions, RunStatus
from domain.state import ResearchInput
from settings import Settings
from tests.fakes.llm_server import FakeLLM
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.helpers import pending_kind, wait_for_status
from worker import build_activities, build_worker
from workflows.research import ResearchWorkflow
from workflows.search_attributes import research_workflow_id

# Under /gone the stub receiver answers 410: refused for good, never retried.
SECRET_PATH = "/gone/T0SECRET/B0SECRET/xoxb-s3cr3t-t0ken"
SECRET_QUERY = "token=q-s3cr3t"


@pytest.fixture
def receiver() -> Any:
    stub = WebhookReceiver("whsec-test").start()
    yield stub
    stub.stop()


async def test_a_failing_deployment_webhook_does_not_leak_its_url(
    client: Client, settings: Settings, llm: FakeLLM, run_id: str, receiver: WebhookReceiver
) -> None:
    secret_url = f"{receiver.url}{SECRET_PATH}?{SECRET_QUERY}"
    mine = settings.model_copy(
        update={
            "task_queue": f"research-secret-{uuid.uuid4().hex[:8]}",
            "notify_urls": [secret_url],
            "notify_allow_private": True,  # the receiver is on loopback
        }
    )
    activities = await asyncio.to_thread(build_activities, mine)
    async with build_worker(client, mine, activities):
        inp = ResearchInput(
            run_id=run_id, question="How is grid energy stored?", options=RunOptions()
        )
        inp.notify_deployment = True  # what the API sets when its settings name notify_urls
        handle = await client.start_workflow(
            ResearchWorkflow.run, inp, id=research_workflow_id(run_id), task_queue=mine.task_queue
        )
        await wait_for_status(handle, pending_kind("clarification"))
        deadline = time.monotonic() + 30
        while True:
            events = (await handle.query(ResearchWorkflow.get_events, 0)).events
            failed = [e for e in events if e.type == "notification_failed"]
            if failed:
                break
            assert time.monotonic() < deadline, "no notification_failed event"
            await asyncio.sleep(0.2)
        view = await handle.query(ResearchWorkflow.get_status)
        assert view.status == RunStatus.awaiting_input  # the run is unharmed
        await handle.cancel()
    # The receiver did get the notification at the secret URL, and refused it.
    assert [r.status for r in receiver.received][:1] == [410]
    assert failed[0].data["url"] == "deployment webhook" and "410" in failed[0].data["error"]
    log = json.dumps([e.model_dump(mode="json") for e in events])
    for secret in ("T0SECRET", "xoxb-s3cr3t-t0ken", SECRET_QUERY, "/gone"):
        assert secret not in log, f"{secret!r} in the run's events"
