"""A strike whose activity fails leaves the claim in the report, to be struck again: the update
fails, nothing is recorded under its request id, and the same request succeeds once the
activity works. On the dev server, with the claims writer stand-in and a strike activity that
fails for good (non-retryable) until told otherwise."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from activities.llm import LLMActivities
from activities.support import SupportActivities
from activities.table import STRIKE_CLAIM
from domain.calls import StrikeRequest, SupportResult
from domain.report import StrikeClaim
from domain.run import RunOptions
from domain.state import ResearchInput
from settings import Settings
from tests.fakes.claims_writer import ClaimsWriter
from tests.fakes.llm_server import FakeLLM
from tests.helpers import pending_kind, wait_for_status
from worker import build_activities, build_worker
from workflows.research import ResearchWorkflow
from workflows.search_attributes import research_workflow_id


class BrokenStriker(SupportActivities):
    """The real strike, except that while `fail` is set it fails for good."""

    fail = True

    @activity.defn(name=STRIKE_CLAIM.name)
    async def strike_claim(self, req: StrikeRequest) -> SupportResult:
        if self.fail:
            raise ApplicationError("the report store refused", type="test", non_retryable=True)
        return await asyncio.to_thread(self.strike, req)


@pytest.fixture
async def stack(
    client: Client, settings: Settings
) -> AsyncIterator[tuple[Settings, BrokenStriker]]:
    own = settings.model_copy(update={"task_queue": f"strike-{uuid.uuid4().hex[:6]}"})
    activities = await asyncio.to_thread(build_activities, own)
    llm = next(
        fn.__self__ for fn in activities if isinstance(getattr(fn, "__self__", None), LLMActivities)
    )
    writer = ClaimsWriter(llm.chat, llm.store)
    striker = BrokenStriker(llm.store)
    swapped = {llm.write_report: writer.write_report}
    served = [
        striker.strike_claim
        if getattr(fn, "__name__", "") == "strike_claim"
        else swapped.get(fn, fn)
        for fn in activities
    ]
    async with build_worker(client, own, served):
        yield own, striker


async def test_a_failed_strike_can_be_sent_again(
    client: Client, stack: tuple[Settings, BrokenStriker], llm: FakeLLM, run_id: str
) -> None:
    settings, striker = stack
    options = RunOptions(clarify=False, depth=1, breadth=2)
    inp = ResearchInput(run_id=run_id, question="How is grid energy stored?", options=options)
    handle = await client.start_workflow(
        ResearchWorkflow.run, inp, id=research_workflow_id(run_id), task_queue=settings.task_queue
    )
    await wait_for_status(handle, pending_kind("report"))
    strike = StrikeClaim(claim_id="s1c1", reason="off topic", struck_by="ada", request_id="k1")
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(ResearchWorkflow.strike_claim, strike)

    striker.fail = False
    # The same request again: not answered from a record of the failed try, but carried out.
    result = await handle.execute_update(ResearchWorkflow.strike_claim, strike)
    assert result.accepted and result.subject == "claim" and not result.replayed
    events = (await handle.query(ResearchWorkflow.get_events, 0)).events
    struck = [e for e in events if e.type == "claim_struck"]
    assert [e.data["claim_id"] for e in struck] == ["s1c1"]
    # Now recorded: a repeat gets the first result back, and the claim is gone.
    again = await handle.execute_update(ResearchWorkflow.strike_claim, strike)
    assert again.accepted and again.replayed
    other = StrikeClaim(claim_id="s1c1", request_id="k2")
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(ResearchWorkflow.strike_claim, other)
    cause = refused.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "unknown_claim"
    await handle.cancel()
