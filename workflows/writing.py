"""Writing the report: one `llm.write_report` call, then its progress, events and sources.json.

Kept apart from the stages that decide when to write (first draft, revision, partial report
after a stop): this is how a report is written and saved, and how a finished run tells whether
its report has gaps. Deterministic only.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.table import SAVE_JSON, WRITE_REPORT
    from domain.calls import ReportRequest, SaveJson
    from domain.sources import CitedSource
    from domain.state import RunState
from workflows.calls import ActivityRunner
from workflows.reading import sources_bundle
from workflows.tracker import RunTracker


class ReportWriter:
    """Writes the run's report into `state.report` and saves the run's records."""

    def __init__(
        self, state: RunState, track: RunTracker, runner: ActivityRunner, folder: str, question: str
    ) -> None:
        self.state = state
        self.track = track
        self.runner = runner
        self.folder = folder  # the run's artifact folder (search_attributes.artifact_folder)
        self.question = question

    async def write(self, comment: str | None, partial: bool = False) -> None:
        """Write revision `state.revision` (with the reviewer's `comment`), then sources.json."""
        state = self.state
        cited = [
            CitedSource(number=i, source_id=s.source_id, title=s.title, url=s.url)
            for i, s in enumerate(state.sources, start=1)
        ]
        req = ReportRequest(
            run_id=self.folder,
            question=self.question,
            plan=state.plan,
            notes=state.notes,
            sources=cited,
            revision=state.revision,
            comment=comment,
            previous_report_ref=state.report.report_ref if state.report else None,
            partial=partial,
        )
        summary = f"write report revision {state.revision}"
        report = await self.runner.call(WRITE_REPORT, req, summary, interruptible=not partial)
        state.report = report
        progress = self.track.view.progress
        progress.citations = report.citations
        progress.citations_dropped = report.citations_dropped
        self.track.view.report_ref = report.report_ref
        self.track.event(
            "report_written",
            summary,
            citations=report.citations,
            dropped=report.citations_dropped,
            chars=report.chars,
        )
        bundle = sources_bundle(state.sources, state.notes)
        self.track.view.sources_ref = await self.save("sources.json", bundle)

    def has_gaps(self) -> bool:
        progress = self.track.view.progress
        return (
            progress.citations_dropped > 0
            or progress.citations == 0
            or progress.sources_failed > 0
            or progress.searches_failed > 0
            or progress.sources_read == 0
            or progress.notes == 0
        )

    async def save(self, name: str, data: dict | list) -> str:
        """Save `data` as the run's `name`; runs to the end even after a `stop`."""
        req = SaveJson(run_id=self.folder, name=name, data=data)
        return await self.runner.call(SAVE_JSON, req, f"save {name}", interruptible=False)
