"""The support check on the real stack: dev server, worker, scripted model, local corpus.

The claims writer is not this branch's (issue 12, item 1), so this module's worker serves
`llm.write_report` with a stand-in that writes a ReportDoc as the real one will: one claim per
plan item, a sentence quoted from a passage of sources.json. It can add a claim that cites a
real passage for something the passage never says. Everything after the writer is production:
the workflow saves sources.json first, the check judges the claims, the run finishes by the rule.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator

import pytest
from temporalio import activity
from temporalio.client import Client, WorkflowHandle

from activities.llm import LLMActivities
from activities.table import WRITE_REPORT
from domain.calls import ReportRequest, ReportResult
from domain.report import Claim, Evidence, ReportDoc, ReportSection, passage_texts
from domain.run import RunOptions, RunStatus, RunView
from domain.state import ResearchInput
from providers.artifacts import ArtifactStore, run_key
from settings import Settings
from tests.fakes.llm_server import FakeLLM
from worker import build_activities, build_worker
from workflows.research import ResearchWorkflow
from workflows.search_attributes import research_workflow_id

LIE = "Volcanic ash cures insomnia in most adults."


class ClaimsWriter(LLMActivities):
    """Writes a ReportDoc of quoted claims; `lie` adds one its cited passage does not support."""

    lie = False

    @activity.defn(name=WRITE_REPORT.name)
    async def write_report(self, req: ReportRequest) -> ReportResult:
        return await asyncio.to_thread(self._write, req)

    def _write(self, req: ReportRequest) -> ReportResult:
        passages = [
            (n, pid, text)
            for n, texts in passage_texts(self.store.read_json(req.sources_ref)).items()
            for pid, text in texts.items()
        ]
        items = [re.sub(r"^\d+\.\s*", "", line) for line in req.plan.splitlines() if line.strip()]
        sections = []
        for i, item in enumerate(items, start=1):
            n, pid, text = passages[(i - 1) % len(passages)]
            sentence = re.split(r"(?<=[.!?])\s", text.strip())[0]
            ev = Evidence(source=n, passage_id=pid, quote=sentence)
            claim = Claim(id=f"s{i}c1", text=sentence, evidence=[ev], origin="extract")
            sections.append(ReportSection(heading=item, plan_item=i, claims=[claim]))
        if self.lie:
            ev = sections[0].claims[0].evidence[0]
            sections[0].claims.append(Claim(id="s1c2", text=LIE, evidence=[ev.model_copy()]))
        doc = ReportDoc(
            question=req.question,
            title=req.question,
            revision=req.revision,
            partial=req.partial,
            plan_items=items,
            sections=sections,
            sources=req.sources,
        )
        name = f"report-r{req.revision}{'-partial' if req.partial else ''}"
        json_ref = self.store.write_text(run_key(req.run_id, f"{name}.json"), doc.model_dump_json())
        markdown = doc.to_markdown()
        md_ref = self.store.write_text(run_key(req.run_id, f"{name}.md"), markdown)
        return ReportResult(
            report_ref=md_ref,
            chars=len(markdown),
            citations=len(doc.cited_numbers()),
            citations_dropped=0,
            json_ref=json_ref,
            claims=len(list(doc.claims())),
        )


@pytest.fixture(scope="module")
async def gate(client: Client, settings: Settings) -> AsyncIterator[tuple[Settings, ClaimsWriter]]:
    """A worker on its own task queue whose report writer is the ClaimsWriter."""
    own = settings.model_copy(update={"task_queue": f"claims-{uuid.uuid4().hex[:6]}"})
    activities = await asyncio.to_thread(build_activities, own)
    llm = next(
        fn.__self__ for fn in activities if isinstance(getattr(fn, "__self__", None), LLMActivities)
    )
    writer = ClaimsWriter(llm.chat, llm.store)
    served = [writer.write_report if fn == llm.write_report else fn for fn in activities]
    async with build_worker(client, own, served):
        yield own, writer


async def run(client: Client, own: Settings, run_id: str) -> tuple[WorkflowHandle, RunView]:
    options = RunOptions(clarify=False, require_acceptance=False, depth=1, breadth=2)
    inp = ResearchInput(run_id=run_id, question="How is grid energy stored?", options=options)
    handle = await client.start_workflow(
        ResearchWorkflow.run, inp, id=research_workflow_id(run_id), task_queue=own.task_queue
    )
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
