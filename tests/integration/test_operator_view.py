"""What operators see: owner, waiting-since and tokens as search attributes, the "waiting on a
person for more than a day" query, and the admin step that registers the attributes."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client, WorkflowHandle

from api.metrics import waiting_over_query
from domain.run import ClarificationAnswer, Decision, RunOptions, RunStatus
from domain.state import ResearchInput
from settings import Settings
from stack.admin import setup
from tests.helpers import pending_kind, wait_for_status
from workflows.research import ResearchWorkflow
from workflows.search_attributes import (
    RESEARCH_OWNER,
    RESEARCH_STATUS,
    SEARCH_ATTRIBUTE_TYPES,
    TOKENS_USED,
    WAITING_SINCE,
    research_workflow_id,
)


async def attributes(handle: WorkflowHandle) -> dict:
    desc = await handle.describe()
    attrs = desc.typed_search_attributes
    return {
        "status": attrs.get(RESEARCH_STATUS),
        "owner": attrs.get(RESEARCH_OWNER),
        "waiting_since": attrs.get(WAITING_SINCE),
        "tokens": attrs.get(TOKENS_USED),
    }


async def listed(client: Client, query: str, workflow_id: str, expected: bool) -> bool:
    """Whether visibility lists the workflow, polled briefly: visibility lags describe()."""
    deadline = time.monotonic() + 10
    while True:
        found = workflow_id in {wf.id async for wf in client.list_workflows(query)}
        if found == expected or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.2)


async def test_owner_waiting_since_and_tokens_follow_the_run(
    client: Client, worker, settings: Settings, llm, run_id: str
) -> None:
    inp = ResearchInput(
        run_id=run_id,
        question="How is grid energy stored?",
        options=RunOptions(depth=1, breadth=2),
        created_by="ada",
    )
    handle = await client.start_workflow(
        ResearchWorkflow.run, inp, id=research_workflow_id(run_id), task_queue=settings.task_queue
    )
    view = await wait_for_status(handle, pending_kind("clarification"))
    attrs = await attributes(handle)
    assert attrs["status"] == "awaiting_input"
    assert attrs["owner"] == "ada"
    assert view.pending is not None
    assert attrs["waiting_since"] == view.pending.since
    assert attrs["tokens"] == view.usage.total_tokens > 0

    # The operator's query: open runs waiting since before a cutoff. With a cutoff in the
    # future this run matches; with one a day ago it does not (it has waited seconds).
    now = datetime.now(UTC)
    future = waiting_over_query("ResearchWorkflow", timedelta(minutes=-5), now)
    day = waiting_over_query("ResearchWorkflow", timedelta(days=1), now)
    assert await listed(client, future, handle.id, expected=True)
    assert not await listed(client, day, handle.id, expected=False)

    await handle.execute_update(
        ResearchWorkflow.answer_clarification, ClarificationAnswer(answers={"q1": "Europe"})
    )
    await wait_for_status(handle, pending_kind("report"))
    await handle.execute_update(ResearchWorkflow.decide, Decision(accepted=True))
    final = await handle.result()
    assert final.status == RunStatus.completed
    attrs = await attributes(handle)
    assert attrs["waiting_since"] is None
    assert attrs["status"] == "completed"
    assert attrs["tokens"] == final.usage.total_tokens > view.usage.total_tokens
    assert not await listed(client, future, handle.id, expected=False)


async def test_admin_step_registers_namespace_and_attributes_and_reruns(client: Client) -> None:
    namespace = f"admin-{uuid.uuid4().hex[:8]}"
    added = await setup(client, namespace, timedelta(days=1))
    assert added == sorted(SEARCH_ATTRIBUTE_TYPES)
    # Re-running is a no-op, as on every `docker compose up`.
    assert await setup(client, namespace, timedelta(days=1)) == []
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    registered = {
        name: IndexedValueType.Name(listed.custom_attributes[name])
        for name in SEARCH_ATTRIBUTE_TYPES
    }
    assert registered == {
        name: f"INDEXED_VALUE_TYPE_{kind.upper().replace('KEYWORDLIST', 'KEYWORD_LIST')}"
        for name, kind in SEARCH_ATTRIBUTE_TYPES.items()
    }
