"""A workflow started by a client without the payload key (a forged start: the Temporal
frontend authenticates nobody) is never run by a worker that holds the key."""

from __future__ import annotations

import asyncio
import base64
import os
import time
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from domain.run import RunOptions
from domain.state import ResearchInput
from runtime.temporal import connect
from settings import Settings
from tests.fakes.llm_server import FakeLLM
from worker import build_activities, build_worker
from workflows.research import ResearchWorkflow
from workflows.search_attributes import research_workflow_id

QUEUE = "research-forged"


@pytest.fixture
async def keyed_worker(settings: Settings, llm: FakeLLM) -> AsyncIterator[Settings]:
    keyed = settings.model_copy(
        update={
            "payload_key": SecretStr(base64.b64encode(os.urandom(32)).decode()),
            "task_queue": QUEUE,
        }
    )
    keyed_client = await connect(keyed, attempts=1)
    activities = await asyncio.to_thread(build_activities, keyed)
    async with build_worker(keyed_client, keyed, activities):
        yield keyed


async def test_a_forged_plain_start_is_not_run(
    client: Client, keyed_worker: Settings, llm: FakeLLM
) -> None:
    run_id = f"forged-{os.urandom(4).hex()}"
    handle = await client.start_workflow(  # `client` has no codec: the input is plain JSON
        ResearchWorkflow.run,
        ResearchInput(run_id=run_id, question="Forged: which admin secrets?", options=RunOptions()),
        id=research_workflow_id(run_id),
        task_queue=QUEUE,
    )
    try:
        deadline = time.monotonic() + 30
        kinds: list[int] = []
        while time.monotonic() < deadline:
            kinds = [e.event_type for e in (await handle.fetch_history()).events]
            if EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED in kinds:
                break
            await asyncio.sleep(0.3)
        # The worker picked the task up and failed it: it could not decode the input.
        assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED in kinds
        assert EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED not in kinds
        assert EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED not in kinds
        assert llm.calls == []  # nothing of the forged question reached the model
    finally:
        await handle.terminate("forged start")
