"""The research run end to end through the Temporal client, with the scripted LLM."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from temporalio.client import Client, WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.worker import Worker

from domain.report import ReportDoc
from domain.run import (
    BudgetLimits,
    ClarificationAnswer,
    Decision,
    RunOptions,
    RunStatus,
    StopRequest,
)
from domain.state import ResearchInput
from settings import Settings
from tests.fakes.llm_server import FakeLLM
from tests.helpers import pending_kind, wait_for_status
from tests.helpers.stack import skip_time
from worker import build_activities, build_worker
from workflows.research import ResearchWorkflow
from workflows.search_attributes import COST_USD, research_workflow_id


async def start(client: Client, settings: Settings, run_id: str, **options: object):
    inp = ResearchInput(
        run_id=run_id, question="How is grid energy stored?", options=RunOptions(**options)
    )
    return await client.start_workflow(
        ResearchWorkflow.run, inp, id=research_workflow_id(run_id), task_queue=settings.task_queue
    )


async def test_full_flow_with_rejection(client, settings, worker: Worker, llm: FakeLLM, run_id):
    handle = await start(client, settings, run_id, depth=1, breadth=2)
    view = await wait_for_status(handle, pending_kind("clarification"))
    assert [q.id for q in view.pending.questions] == ["q1", "q2"]
    await handle.execute_update(
        ResearchWorkflow.answer_clarification,
        ClarificationAnswer(answers={"q1": "the last decade", "q2": "Europe"}),
    )
    view = await wait_for_status(handle, pending_kind("report"))
    assert view.pending.revision == 0 and view.report_ref
    result = await handle.execute_update(
        ResearchWorkflow.decide, Decision(accepted=False, comment="add costs", request_id="r1")
    )
    assert result.accepted is False and result.subject == "report" and not result.replayed
    again = await handle.execute_update(
        ResearchWorkflow.decide, Decision(accepted=False, comment="add costs", request_id="r1")
    )
    assert again.replayed
    view = await wait_for_status(
        handle, lambda v: pending_kind("report")(v) and v.pending.revision == 1
    )
    await handle.execute_update(ResearchWorkflow.decide, Decision(accepted=True))
    final = await handle.result()
    assert final.status == RunStatus.completed
    assert final.progress.revisions == 1
    assert final.progress.sources_read == 2  # batteries + pumped hydro, not tea
    assert final.progress.citations == 2 and final.progress.citations_dropped == 0
    assert llm.count("ReportDraft") == 2
    assert final.usage.llm_calls == llm.count("QuestionsDraft") + llm.count("text") + llm.count(
        "QueriesDraft"
    ) + llm.count("NotesDraft") + llm.count("ReportDraft") + llm.count("GapsDraft")
    events = await handle.query(ResearchWorkflow.get_events, 0)
    assert [e.seq for e in events.events] == list(range(1, len(events.events) + 1))
    assert events.finished and events.events[-1].type == "finished"


async def test_refused_input_leaves_run_unharmed(client, settings, worker, llm, run_id):
    handle = await start(client, settings, run_id, depth=1)
    await wait_for_status(handle, pending_kind("clarification"))
    bad = [
        (ResearchWorkflow.decide, Decision(accepted=True), "wrong_stage"),
        (
            ResearchWorkflow.answer_clarification,
            ClarificationAnswer(answers={"q9": "x"}),
            "unknown_question",
        ),
        (
            ResearchWorkflow.answer_clarification,
            ClarificationAnswer(answers={"q1": "  "}),
            "empty_answer",
        ),
        (ResearchWorkflow.answer_clarification, ClarificationAnswer(), "empty_answer"),
    ]
    for update, arg, code in bad:
        with pytest.raises(WorkflowUpdateFailedError) as err:
            await handle.execute_update(update, arg)
        assert err.value.cause.type == code
    await handle.execute_update(
        ResearchWorkflow.answer_clarification, ClarificationAnswer(skip=True)
    )
    await wait_for_status(handle, pending_kind("report"))
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await handle.execute_update(ResearchWorkflow.decide, Decision(accepted=False, comment=""))
    assert err.value.cause.type == "invalid_decision"
    await handle.execute_update(ResearchWorkflow.decide, Decision(accepted=True))
    assert (await handle.result()).status == RunStatus.completed


async def test_bogus_citation_is_dropped(client, settings, worker, llm, run_id):
    llm.reset(bogus_citation=42)
    handle = await start(client, settings, run_id, clarify=False, require_acceptance=False, depth=1)
    final = await handle.result()
    # The writer refuses the claim citing a source the run never read: it is counted, kept in
    # report.json's `removed` with the reason, and the report people read holds no [42]. What
    # is left is supported, so the run completes (docs/api.md: the completed rule).
    assert final.status == RunStatus.completed, final.finish_reason
    assert final.progress.citations_dropped == 1
    report = (settings.artifacts_dir / final.report_ref).read_text()
    assert "[42]" not in report and "[1]" in report
    doc = ReportDoc.model_validate_json(
        (settings.artifacts_dir / final.report_json_ref).read_text()
    )
    assert [c.support for c in doc.removed] == ["refused"]
    assert doc.removed[0].reason.startswith("cites source [42]")


async def test_wait_past_deadline_expires(client, settings, worker, llm, run_id):
    # A week's wait for the clarification, passed on the dev server's skipped clock.
    handle = await start(client, settings, run_id, input_timeout=timedelta(days=7))
    await skip_time(client, handle.id)
    final = await asyncio.wait_for(handle.result(), timeout=60)
    assert final.status == RunStatus.expired
    assert final.finish_reason and "clarification" in final.finish_reason


async def test_stop_during_review_keeps_report(client, settings, worker, llm, run_id):
    handle = await start(client, settings, run_id, clarify=False, depth=1)
    await wait_for_status(handle, pending_kind("report"))
    await handle.signal(ResearchWorkflow.stop, StopRequest(reason="enough"))
    final = await handle.result()
    assert final.status == RunStatus.completed_with_gaps and final.report_ref


async def test_stop_before_anything_is_stopped(client, settings, worker, llm, run_id):
    handle = await start(client, settings, run_id)
    await wait_for_status(handle, pending_kind("clarification"))
    await handle.signal(ResearchWorkflow.stop, StopRequest(reason="changed my mind"))
    final = await handle.result()
    assert final.status == RunStatus.stopped and final.report_ref is None


async def test_cancel_gives_cancelled(client, settings, worker, llm, run_id):
    handle = await start(client, settings, run_id)
    await wait_for_status(handle, pending_kind("clarification"))
    await handle.cancel()
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    view = await handle.query(ResearchWorkflow.get_status)
    assert view.status == RunStatus.cancelled


async def test_finding_nothing_ends_with_gaps(client, settings, worker, llm, run_id):
    llm.reset(queries=["quantum chromodynamics"])
    handle = await start(client, settings, run_id, clarify=False, require_acceptance=False, depth=1)
    final = await handle.result()
    assert final.progress.sources_read == 0 and final.progress.citations == 0
    assert final.status == RunStatus.completed_with_gaps
    report = (settings.artifacts_dir / final.report_ref).read_text()
    assert "## Sources" not in report


async def test_budget_pause_then_extend(client, settings, worker, llm, run_id):
    handle = await start(
        client, settings, run_id, clarify=False, require_acceptance=False, depth=1, max_tokens=1
    )
    view = await wait_for_status(handle, pending_kind("budget"))
    assert view.status == RunStatus.awaiting_input and "tokens used" in view.pending.content
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await handle.execute_update(ResearchWorkflow.decide, Decision(accepted=True))
    assert err.value.cause.type == "invalid_decision"  # going on needs new limits
    for short in (BudgetLimits(), BudgetLimits(max_tokens=2), BudgetLimits(max_cost_usd=5.0)):
        with pytest.raises(WorkflowUpdateFailedError) as err:  # limits that leave it used up
            await handle.execute_update(
                ResearchWorkflow.decide, Decision(accepted=True, budget=short)
            )
        assert err.value.cause.type == "invalid_decision", short
        assert "already used up" in str(err.value.cause)
    more = Decision(accepted=True, budget=BudgetLimits(max_tokens=1_000_000))
    await handle.execute_update(ResearchWorkflow.decide, more)
    final = await handle.result()
    assert final.status == RunStatus.completed and final.usage.total_tokens > 1
    events = await handle.query(ResearchWorkflow.get_events, 0)
    assert "budget_extended" in {e.type for e in events.events}


async def test_cost_budget_refused_stops_the_run(client, settings, llm, run_id):
    priced = settings.model_copy(
        update={"task_queue": f"priced-{run_id}", "llm_prices": {"fake": (1000.0, 1000.0)}}
    )
    activities = await asyncio.to_thread(build_activities, priced)
    async with build_worker(client, priced, activities):
        handle = await start(client, priced, run_id, clarify=False, max_cost_usd=0.01)
        view = await wait_for_status(handle, pending_kind("budget"))
        assert view.usage.cost_usd >= 0.01 and "spent" in view.pending.content
        desc = await handle.describe()
        assert desc.typed_search_attributes.get(COST_USD) >= 0.01
        await handle.execute_update(ResearchWorkflow.decide, Decision(accepted=False))
        final = await handle.result()
    assert final.status == RunStatus.stopped and final.usage.cost_usd >= 0.01


async def test_every_round_runs_when_no_gap_is_named(client, settings, worker, llm, run_id):
    """The scripted model names no gaps and repeats its queries: round 2 still runs, on what
    the plan asks and was not searched yet; a round with nothing new to search says so."""
    handle = await start(client, settings, run_id, depth=3, breadth=2, clarify=False)
    await wait_for_status(handle, pending_kind("report"))
    view = await handle.query(ResearchWorkflow.get_status)
    await handle.execute_update(ResearchWorkflow.decide, Decision(accepted=True))
    await handle.result()
    events = (await handle.query(ResearchWorkflow.get_events, 0)).events
    queries = [e.data["query"] for e in events if e.type == "query_issued"]
    assert view.progress.round >= 2, view.progress
    assert len(queries) > 2 and len(set(queries)) == len(queries), queries
    assert llm.count("QueriesDraft") >= 2 and llm.count("GapsDraft") >= 1
    if view.progress.round < 3:  # stopped early: only because nothing new was left to search
        assert any(e.type == "nothing_new" for e in events), [e.type for e in events]
