"""The support check on the real stack: dev server, worker, scripted model, local corpus.

The claims writer is not this branch's (issue 12, item 1), so this module's worker serves
`llm.write_report` with a stand-in (tests/fakes/claims_writer.py). Everything after the writer
is production: the workflow saves sources.json first, the check judges the claims, the run
finishes by the completed rule.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError

from domain.report import FindSource, ReportDoc, StrikeClaim
from domain.run import Decision, RunOptions, RunStatus, RunView, StopRequest
from domain.state import ResearchInput
from providers.artifacts import ArtifactStore, run_key
from settings import Settings
from tests.fakes.claims_writer import LIE, ClaimsWriter, claims_worker
from tests.fakes.llm_server import FakeLLM
from tests.helpers import pending_kind, wait_for_status
from workflows.research import ResearchWorkflow
from workflows.search_attributes import research_workflow_id


@pytest.fixture(scope="module")
async def gate(client: Client, settings: Settings) -> AsyncIterator[tuple[Settings, ClaimsWriter]]:
    async with claims_worker(client, settings) as served:
        yield served


async def start(
    client: Client, own: Settings, run_id: str, review: bool = False, depth: int = 1
) -> WorkflowHandle:
    options = RunOptions(
        clarify=False,
        require_plan_approval=review,
        require_acceptance=review,
        depth=depth,
        breadth=2,
    )
    inp = ResearchInput(run_id=run_id, question="How is grid energy stored?", options=options)
    return await client.start_workflow(
        ResearchWorkflow.run, inp, id=research_workflow_id(run_id), task_queue=own.task_queue
    )


async def run(client: Client, own: Settings, run_id: str) -> tuple[WorkflowHandle, RunView]:
    handle = await start(client, own, run_id)
    return handle, await asyncio.wait_for(handle.result(), 120)


async def test_a_run_of_supported_claims_completes(
    client: Client, gate: tuple[Settings, ClaimsWriter], llm: FakeLLM, run_id: str
) -> None:
    own, writer = gate
    writer.lie = False
    handle, final = await run(client, own, run_id)
    assert final.status == RunStatus.completed, final.finish_reason
    progress = final.progress
    assert progress.claims >= 1 and progress.claims == progress.claims_supported
    assert progress.claims_unsupported == 0
    assert final.report_json_ref == run_key(run_id, "report-r0.json")
    doc = ReportDoc.model_validate(
        ArtifactStore(own.artifacts_dir).read_json(final.report_json_ref)
    )
    assert doc.checked and not doc.removed and doc.uncovered_plan_items() == []
    events = (await handle.query(ResearchWorkflow.get_events, 0)).events
    checked = [e for e in events if e.type == "claims_checked"]
    assert len(checked) == 1 and checked[0].data["claims"] == progress.claims
    # sources.json was saved before the writer ran: the writer read its passages from it.
    types = [e.type for e in events]
    assert types.index("report_written") < types.index("claims_checked")


async def test_a_claim_its_passage_does_not_support_is_removed_and_the_run_has_gaps(
    client: Client, gate: tuple[Settings, ClaimsWriter], llm: FakeLLM, run_id: str
) -> None:
    own, writer = gate
    writer.lie = True
    try:
        _, final = await run(client, own, run_id)
    finally:
        writer.lie = False
    assert final.status == RunStatus.completed_with_gaps
    assert final.finish_reason == "1 claim unsupported"
    assert final.progress.claims_unsupported == 1
    assert final.progress.claims == final.progress.claims_supported >= 1
    store = ArtifactStore(own.artifacts_dir)
    doc = ReportDoc.model_validate(store.read_json(final.report_json_ref))
    assert [(c.text, c.support) for c in doc.removed] == [(LIE, "unsupported")]
    assert doc.removed[0].reason.startswith("only ")
    assert LIE not in store.read_text(final.report_ref)
    assert LIE not in store.read_text(run_key(run_id, "report.md"))


async def test_a_partial_report_after_a_stop_is_checked_too(
    client: Client, gate: tuple[Settings, ClaimsWriter], llm: FakeLLM, run_id: str
) -> None:
    own, writer = gate
    # Two rounds, so the gaps call after round 1 holds a 5 s window after the first notes
    # (a one-round run asks for no gaps and may finish before the stop arrives).
    llm.reset(delays={"GapsDraft": 5.0})
    writer.lie = True
    try:
        handle = await start(client, own, run_id, depth=2)
        await wait_for_status(handle, lambda v: v.progress.notes >= 1)
        await handle.signal(ResearchWorkflow.stop, StopRequest(reason="enough"))
        final = await asyncio.wait_for(handle.result(), 120)
    finally:
        writer.lie = False
    assert final.status == RunStatus.completed_with_gaps
    assert final.finish_reason == "stopped early with a partial report (enough)"
    assert final.report_json_ref == run_key(run_id, "report-r0-partial.json")
    assert final.progress.claims_unsupported == 1 and final.progress.claims >= 1
    doc = ReportDoc.model_validate(
        ArtifactStore(own.artifacts_dir).read_json(final.report_json_ref)
    )
    assert doc.checked and doc.partial and [c.text for c in doc.removed] == [LIE]


async def test_a_reviewer_strikes_a_claim_exactly_once(
    client: Client, gate: tuple[Settings, ClaimsWriter], llm: FakeLLM, run_id: str
) -> None:
    own, _ = gate
    handle = await start(client, own, run_id, review=True)
    await wait_for_status(handle, pending_kind("plan"))
    with pytest.raises(WorkflowUpdateFailedError) as refused:  # no report waits for review yet
        await handle.execute_update(ResearchWorkflow.strike_claim, StrikeClaim(claim_id="s1c1"))
    assert getattr(refused.value.cause, "type", None) == "nothing_pending"
    await handle.execute_update(ResearchWorkflow.decide, Decision(accepted=True))
    view = await wait_for_status(handle, pending_kind("report"))
    store = ArtifactStore(own.artifacts_dir)
    assert view.report_json_ref is not None
    doc = ReportDoc.model_validate(store.read_json(view.report_json_ref))
    first = doc.sections[0].claims[0]
    strike = StrikeClaim(claim_id=first.id, reason="not what the source says", request_id="s1")
    done = await handle.execute_update(ResearchWorkflow.strike_claim, strike)
    again = await handle.execute_update(ResearchWorkflow.strike_claim, strike)
    assert not done.replayed and again.replayed and done.subject == "claim"
    for bad, code in (
        (StrikeClaim(claim_id=first.id, request_id="s2"), "unknown_claim"),  # struck already
        (StrikeClaim(claim_id="nope"), "unknown_claim"),
        (strike.model_copy(update={"reason": "other"}), "request_id_reused"),
    ):
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(ResearchWorkflow.strike_claim, bad)
        assert getattr(refused.value.cause, "type", None) == code
    view = await handle.query(ResearchWorkflow.get_status)
    assert view.progress.claims == len(list(doc.claims())) - 1
    await handle.execute_update(ResearchWorkflow.decide, Decision(accepted=True))
    final = await asyncio.wait_for(handle.result(), 60)
    # The struck claim was plan item 1's only one.
    assert final.status == RunStatus.completed_with_gaps
    assert final.finish_reason == "plan item 1 has no supported claim"
    checked = ReportDoc.model_validate(store.read_json(view.report_json_ref))
    assert [(c.id, c.support) for c in checked.removed] == [(first.id, "struck")]
    assert first.text not in store.read_text(final.report_ref or "")
    events = (await handle.query(ResearchWorkflow.get_events, 0)).events
    assert [e.data["claim_id"] for e in events if e.type == "claim_struck"] == [first.id]


async def test_find_source_searches_for_the_claim_then_rewrites_and_rechecks(
    client: Client, gate: tuple[Settings, ClaimsWriter], llm: FakeLLM, run_id: str
) -> None:
    own, writer = gate
    writer.lie = True
    try:
        handle = await start(client, own, run_id, review=True)
        await wait_for_status(handle, pending_kind("plan"))
        await handle.execute_update(ResearchWorkflow.decide, Decision(accepted=True))
        view = await wait_for_status(handle, pending_kind("report"))
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(ResearchWorkflow.find_source, FindSource(claim_id="x"))
        assert getattr(refused.value.cause, "type", None) == "unknown_claim"
        # The unsupported claim: removed from the report, but a reviewer may ask for a source.
        find = FindSource(claim_id="s1c2", request_id="f1")
        done = await handle.execute_update(ResearchWorkflow.find_source, find)
        again = await handle.execute_update(ResearchWorkflow.find_source, find)
        assert (done.accepted, done.subject, done.replayed, again.replayed) == (
            False,
            "report",
            False,
            True,
        )
        with pytest.raises(WorkflowUpdateFailedError) as refused:  # the review is decided
            await handle.execute_update(ResearchWorkflow.strike_claim, StrikeClaim(claim_id="s1c1"))
        assert getattr(refused.value.cause, "type", None) == "nothing_pending"
        revised = await wait_for_status(
            handle, lambda v: pending_kind("report")(v) and v.pending.revision == 1
        )
        await handle.execute_update(ResearchWorkflow.decide, Decision(accepted=True))
        final = await asyncio.wait_for(handle.result(), 60)
    finally:
        writer.lie = False
    assert revised.progress.round == view.progress.round + 1 and final.progress.revisions == 1
    events = (await handle.query(ResearchWorkflow.get_events, 0)).events
    checks = [i for i, e in enumerate(events) if e.type == "claims_checked"]
    assert len(checks) == 2
    between = events[checks[0] : checks[1]]
    # One round for the claim, between the two checks: its queries asked for, then searched.
    assert any(e.message == f"searching for a source: {LIE}" for e in between)
    assert any(e.type == "query_issued" for e in between)
    assert final.report_json_ref == run_key(run_id, "report-r1.json")
    # The stand-in writer states the falsehood again; the check removes it again.
    assert final.status == RunStatus.completed_with_gaps
    assert final.finish_reason == "1 claim unsupported"
