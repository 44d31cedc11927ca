"""The scenarios tests/histories/record.py records: each drives one run its own way to its end.

A scenario starts a workflow on the given client and task queue, plays the people's part (answers,
decisions, stops) and returns the handle; the recorder waits for the result and saves the
history. The tables at the end group the scenarios by the server set-up they are recorded with.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, timedelta

from temporalio.client import Client, WorkflowHandle

from domain.notify import NotifyOptions
from domain.report import FindSource, StrikeClaim
from domain.run import ApprovalInput, ClarificationAnswer, Decision, RunOptions, StopRequest
from domain.source_policy import SourcePolicy
from domain.state import ResearchInput
from tests.fakes.faults import FaultPlan
from tests.fakes.web_server import StubWeb
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.helpers import pending_kind, wait_for_status
from workflows.approval import ApprovalWorkflow
from workflows.research import ResearchWorkflow

QUESTION = "How is grid energy stored?"


async def start(client: Client, queue: str, name: str, **options: object) -> WorkflowHandle:
    inp = ResearchInput(run_id=name, question=QUESTION, options=RunOptions(**options))
    return await client.start_workflow(
        ResearchWorkflow.run, inp, id=f"research-{name}", task_queue=queue
    )


async def rejected_then_accepted(client: Client, queue: str) -> WorkflowHandle:
    handle = await start(client, queue, "rejected", depth=2, require_plan_approval=True)
    await wait_for_status(handle, pending_kind("clarification"))
    answer = ClarificationAnswer(answers={"q1": "last decade"}, request_id="a1")
    await handle.execute_update(ResearchWorkflow.answer_clarification, answer)
    await wait_for_status(handle, pending_kind("plan"))
    await handle.execute_update(ResearchWorkflow.decide, Decision(accepted=True))
    await wait_for_status(handle, pending_kind("report"))
    reject = Decision(accepted=False, comment="add costs", request_id="r1")
    await handle.execute_update(ResearchWorkflow.decide, reject)
    await handle.execute_update(ResearchWorkflow.decide, reject)  # an idempotent repeat
    await wait_for_status(handle, lambda v: pending_kind("report")(v) and v.pending.revision == 1)
    await handle.execute_update(ResearchWorkflow.decide, Decision(accepted=True))
    return handle


async def expired(client: Client, queue: str) -> WorkflowHandle:
    return await start(client, queue, "expired", input_timeout=timedelta(seconds=2))


async def stopped_in_review(client: Client, queue: str) -> WorkflowHandle:
    handle = await start(client, queue, "stopped", clarify=False, depth=1)
    await wait_for_status(handle, pending_kind("report"))
    await handle.signal(ResearchWorkflow.stop, StopRequest(reason="enough"))
    return handle


async def final_event_log(client: Client, queue: str) -> WorkflowHandle:
    # A run that finishes on its own, after the final event log was saved (`final-event-log`).
    return await start(client, queue, "final-log", clarify=False, require_acceptance=False, depth=1)


async def cancelled(client: Client, queue: str) -> WorkflowHandle:
    handle = await start(client, queue, "cancelled")
    await wait_for_status(handle, pending_kind("clarification"))
    await handle.cancel()
    return handle


async def approval(client: Client, queue: str) -> WorkflowHandle:
    handle = await client.start_workflow(
        ApprovalWorkflow.run,
        ApprovalInput(approval_id="a", title="Ship it?"),
        id="approval-a",
        task_queue=queue,
    )
    await asyncio.sleep(0.5)
    await handle.execute_update(ApprovalWorkflow.decide, Decision(accepted=False, comment="no"))
    return handle


async def continued(client: Client, queue: str) -> WorkflowHandle:
    """Continues as new before each report review; a decision is repeated across a boundary."""
    handle = await start(client, queue, "continued", clarify=False, depth=1)
    await wait_for_status(handle, pending_kind("report"))
    reject = Decision(accepted=False, comment="add costs", request_id="r1")
    await handle.execute_update(ResearchWorkflow.decide, reject)
    await wait_for_status(handle, lambda v: pending_kind("report")(v) and v.pending.revision == 1)
    await handle.execute_update(ResearchWorkflow.decide, reject)  # answered from the record
    await handle.execute_update(ResearchWorkflow.decide, Decision(accepted=True))
    return handle


async def web_mixed(web: StubWeb, client: Client, queue: str) -> WorkflowHandle:
    """Local documents and SearXNG: searches on the provider's own queue, web pages read."""
    return await start(client, queue, "web", clarify=False, require_acceptance=False, depth=1)


async def web_search_outage(web: StubWeb, client: Client, queue: str) -> WorkflowHandle:
    """Web only, and SearXNG answers 500 to every try: the query is a gap, the run goes on."""
    web.faults["/search"] = FaultPlan(rate=1.0, kinds=("500",))
    handle = await start(
        client, queue, "outage", clarify=False, require_acceptance=False, depth=1, breadth=1,
        sources=["web"],
    )  # fmt: skip
    await handle.result()
    del web.faults["/search"]
    return handle


async def reminded(receiver: WebhookReceiver, client: Client, queue: str) -> WorkflowHandle:
    """Reminders and an escalation during the report review, each notified (the receiver fails
    every first try), and delivery outcomes recorded before the reviewer accepts."""
    options = RunOptions(
        clarify=False, depth=1, remind_every=timedelta(seconds=1),
        escalate_after=timedelta(seconds=2), escalate_to="editors",
        notify=NotifyOptions(urls=[f"{receiver.url}/run"]),
    )  # fmt: skip
    # Named as the replay test names it (the file's stem): the child workflow ids contain it.
    handle = await client.start_workflow(
        ResearchWorkflow.run,
        ResearchInput(run_id="reminded", question=QUESTION, options=options),
        id="research_reminded_notified",
        task_queue=queue,
    )
    await wait_for_status(
        handle, lambda v: v.pending is not None and v.pending.escalated_to == "editors"
    )
    deadline = asyncio.get_running_loop().time() + 30
    while len(receiver.accepted("/run")) < 3:  # input awaited, a reminder, the escalation
        assert asyncio.get_running_loop().time() < deadline, "notifications did not arrive"
        await asyncio.sleep(0.2)
    await handle.execute_update(ResearchWorkflow.decide, Decision(accepted=True, decided_by="g"))
    return handle


async def claims_checked(client: Client, queue: str) -> WorkflowHandle:
    """Sources saved before the report, its claims checked, one unsupported claim removed."""
    return await start(client, queue, "claims", clarify=False, require_acceptance=False, depth=1)


async def claims_reviewed(client: Client, queue: str) -> WorkflowHandle:
    """At report review a claim is struck (and the strike repeated), then a source is asked for
    the unsupported one: one more round, a rewrite and a re-check, then acceptance."""
    handle = await start(client, queue, "claims-reviewed", clarify=False, depth=1)
    await wait_for_status(handle, pending_kind("report"))
    strike = StrikeClaim(claim_id="s1c1", reason="too vague", request_id="s1")
    await handle.execute_update(ResearchWorkflow.strike_claim, strike)
    await handle.execute_update(ResearchWorkflow.strike_claim, strike)
    find = FindSource(claim_id="s1c2", request_id="f1")
    await handle.execute_update(ResearchWorkflow.find_source, find)
    await wait_for_status(handle, lambda v: pending_kind("report")(v) and v.pending.revision == 1)
    await handle.execute_update(ResearchWorkflow.decide, Decision(accepted=True))
    return handle


async def source_policy(web: StubWeb, client: Client, queue: str) -> WorkflowHandle:
    """Pinned sources (a document, a page) read first, a pinned page on a denied domain refused,
    and a date window sent to SearXNG: the path behind the "source-policy" patch."""
    port = web.server.server_address[1]
    policy = SourcePolicy(
        pinned=["pumped_hydro.md", f"{web.base_url}/paper.pdf", f"http://localhost:{port}/x"],
        deny_domains=["localhost"],
        published_after=date(2026, 1, 1),
    )
    return await start(
        client, queue, "policy", clarify=False, require_acceptance=False, depth=1,
        source_policy=policy,
    )  # fmt: skip


Scenario = Callable[[Client, str], Awaitable[WorkflowHandle]]

SCENARIOS: dict[str, Scenario] = {
    "research_rejected_then_accepted": rejected_then_accepted,
    "research_expired": expired,
    "research_stopped_in_review": stopped_in_review,
    "research_cancelled": cancelled,
    "research_final_event_log": final_event_log,
    "approval_rejected": approval,
}
# Recorded on a server that suggests continue-as-new after this many history events.
CHAINED: dict[str, Scenario] = {"research_continued": continued}
SUGGEST_CONTINUE_AS_NEW = {"limit.historyCount.suggestContinueAsNew": "25"}
# Recorded with SearXNG configured beside the local documents (a stub web on loopback).
WEB = {
    "research_web": web_mixed,
    "research_web_search_outage": web_search_outage,
    "research_source_policy": source_policy,
}
# Recorded with a stub webhook receiver on loopback.
NOTIFY = {"research_reminded_notified": reminded}

# Recorded with the stand-in claims writer (tests/fakes/claims_writer.py) adding a claim its
# passage does not support: the path behind the workflow's "claims-support-check" patch.
CLAIMS = {
    "research_claims_checked": claims_checked,
    "research_claims_reviewed": claims_reviewed,
}
