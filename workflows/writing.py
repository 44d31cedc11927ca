"""Writing the report: one `llm.write_report` call, then its progress, events and sources.json.

A base class of ResearchWorkflow, kept apart from the stages that decide when to write (first
draft, revision, partial report after a stop): this is how a report is written and saved, and
how a finished run tells whether its report has gaps. Deterministic only.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.calls import ReportRequest, ReportResult, SaveJson
    from domain.sources import CitedSource
from workflows.waiting import PersonWaits


class ReportWriter(PersonWaits):
    """Writes and saves the run's report. Needs the run's `report` (set by ResearchWorkflow)."""

    report: ReportResult | None

    async def _write(self, comment: str | None, partial: bool = False) -> None:
        cited = [
            CitedSource(number=i, source_id=s.source_id, title=s.title, url=s.url)
            for i, s in enumerate(self.sources, start=1)
        ]
        req = ReportRequest(
            run_id=self.inp.run_id,
            question=self.inp.question,
            plan=self.plan,
            notes=self.notes,
            sources=cited,
            revision=self.revision,
            comment=comment,
            previous_report_ref=self.report.report_ref if self.report else None,
            partial=partial,
        )
        summary = f"write report revision {self.revision}"
        self.report = await self.call(
            "llm.write_report", req, ReportResult, summary, interruptible=not partial
        )
        progress = self.track.view.progress
        progress.citations = self.report.citations
        progress.citations_dropped = self.report.citations_dropped
        self.track.view.report_ref = self.report.report_ref
        self.track.event(
            "report_written",
            summary,
            citations=self.report.citations,
            dropped=self.report.citations_dropped,
            chars=self.report.chars,
        )
        self.track.view.sources_ref = await self._save("sources.json", self.sources_bundle())

    def _has_gaps(self) -> bool:
        progress = self.track.view.progress
        return (
            progress.citations_dropped > 0
            or progress.citations == 0
            or progress.sources_failed > 0
            or progress.searches_failed > 0
            or progress.sources_read == 0
            or progress.notes == 0
        )

    async def _save(self, name: str, data: dict | list) -> str:
        req = SaveJson(run_id=self.inp.run_id, name=name, data=data)
        return await self.call("artifacts.save_json", req, str, f"save {name}", interruptible=False)
