"""A stand-in for the claims writer (issue 12, item 1) until the real one lands: it serves
`llm.write_report` and writes a ReportDoc as the real one will, one claim per plan item, each a
sentence quoted from a passage of the run's sources.json. With `lie` set it adds a claim that
cites a real passage for something the passage never says, for the support check to catch.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from temporalio import activity
from temporalio.client import Client

from activities.llm import LLMActivities
from activities.table import WRITE_REPORT
from domain.calls import ReportRequest, ReportResult
from domain.report import Claim, Evidence, ReportDoc, ReportSection, passage_texts
from providers.artifacts import run_key
from settings import Settings
from worker import build_activities, build_worker

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


@asynccontextmanager
async def claims_worker(
    client: Client, settings: Settings
) -> AsyncIterator[tuple[Settings, ClaimsWriter]]:
    """A worker on a task queue of its own whose report writer is a ClaimsWriter; yields the
    settings naming that queue, and the writer (to set `lie`)."""
    own = settings.model_copy(update={"task_queue": f"claims-{uuid.uuid4().hex[:6]}"})
    activities = await asyncio.to_thread(build_activities, own)
    llm = next(
        fn.__self__ for fn in activities if isinstance(getattr(fn, "__self__", None), LLMActivities)
    )
    writer = ClaimsWriter(llm.chat, llm.store)
    served = [writer.write_report if fn == llm.write_report else fn for fn in activities]
    async with build_worker(client, own, served):
        yield own, writer
