"""Writing the report: one `llm.write_report` call, its support check, progress and events.

Kept apart from the stages that decide when to write (first draft, revision, partial report
after a stop): this is how a report is written, checked and saved, and how a finished run tells
whether its report has gaps. Deterministic only.

Runs past CLAIMS_PATCH save sources.json before writing (the writer quotes its passages and the
check judges against them), then check every claim (`support.check_support`) before anyone sees
the report; runs recorded before it write first and save sources.json after, unchecked.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.table import CHECK_SUPPORT, SAVE_JSON, SAVE_RUN_FILES, WRITE_REPORT
    from domain.calls import ReportRequest, ReportResult, SaveJson, SaveRunFiles, SupportRequest
    from domain.run import RunStatus, RunView, Stage, StopRequest
    from domain.sources import CitedSource
    from domain.state import RunState
from workflows.calls import ActivityRunner
from workflows.reading import sources_bundle
from workflows.tracker import RunTracker

CLAIMS_PATCH = "claims-support-check"
# Runs past it save final.md and context_bundle.json beside run.json as they finish.
RUN_FILES_PATCH = "run-files"


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
        """Write revision `state.revision` (with the reviewer's `comment`) and save sources.json:
        before writing, and then check the report's claims, past CLAIMS_PATCH; after, before."""
        state = self.state
        checking = workflow.patched(CLAIMS_PATCH)
        if checking:
            await self._save_sources()
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
            sources_ref=(self.track.view.sources_ref or "") if checking else "",
            context=state.seed_context,
        )
        summary = f"write report revision {state.revision}"
        report = await self.runner.call(WRITE_REPORT, req, summary, interruptible=not partial)
        state.report = report
        progress = self.track.view.progress
        progress.citations = report.citations
        progress.citations_dropped = report.citations_dropped
        checked_later = checking and bool(report.json_ref)
        if not checked_later:  # a checked report is shown once checked, not before
            self.track.view.report_ref = report.report_ref
        self.track.event(
            "report_written",
            summary,
            citations=report.citations,
            dropped=report.citations_dropped,
            chars=report.chars,
        )
        if not checking:
            await self._save_sources()
        elif checked_later:  # a writer from before claims leaves nothing to check
            await self._check(report, partial)

    async def _save_sources(self) -> None:
        bundle = sources_bundle(self.state.sources, self.state.notes)
        self.track.view.sources_ref = await self.save("sources.json", bundle)

    async def _check(self, report: ReportResult, partial: bool) -> None:
        """Judge every claim of `report`; the report people see is the checked one."""
        state, view = self.state, self.track.view
        req = SupportRequest(
            run_id=self.folder,
            json_ref=report.json_ref,
            sources_ref=view.sources_ref or "",
            revision=state.revision,
            partial=partial,
        )
        summary = f"check the claims of revision {state.revision}"
        # Not interruptible: milliseconds of work, and a stop must not leave an unchecked report.
        checked = await self.runner.call(CHECK_SUPPORT, req, summary, interruptible=False)
        counts = {
            "claims": checked.claims,
            "claims_supported": checked.claims_supported,
            "claims_unsupported": checked.claims_unsupported,
        }
        state.report = report.model_copy(
            update={
                **counts,
                "report_ref": checked.report_ref,
                "json_ref": checked.json_ref,
                "chars": checked.chars,
                "citations": checked.citations,
                "plan_items_uncovered": checked.plan_items_uncovered,
            }
        )
        progress = view.progress
        progress.claims, progress.claims_supported = checked.claims, checked.claims_supported
        progress.claims_unsupported, progress.citations = (
            checked.claims_unsupported,
            checked.citations,
        )
        view.report_ref, view.report_json_ref = checked.report_ref, checked.json_ref
        state.claim_ids, state.claim_texts = list(checked.claim_ids), dict(checked.claim_texts)
        self.track.event(
            "claims_checked",
            summary,
            **counts,
            plan_items_uncovered=checked.plan_items_uncovered,
            citations=checked.citations,
        )

    async def after_stop(self, request: StopRequest) -> tuple[RunStatus, str]:
        """How a stopped run ends: with a report (a partial one written from the notes if
        there is none yet), or with nothing to report."""
        self.track.event("stop_requested", request.reason, by=request.requested_by)
        if self.state.report is None and self.state.notes:
            self.track.stage(Stage.writing, "writing a partial report after stop")
            await self.write(comment=None, partial=True)
        why = f" ({request.reason})" if request.reason else ""  # a budget refused, say
        if self.state.report is not None:
            return RunStatus.completed_with_gaps, f"stopped early with a partial report{why}"
        return RunStatus.stopped, f"stopped before anything could be reported{why}"

    def gaps(self) -> str:
        """Why the finished run's report falls short ("" when it does not). A report of checked
        claims must also have claims, all of them supported, and one for every plan item."""
        report = self.state.report
        if report is None or not report.json_ref or not workflow.patched(CLAIMS_PATCH):
            return "report has gaps" if self.has_gaps() else ""  # the rule before claims
        progress = self.track.view.progress
        why = [] if report.claims else ["the report has no claims"]
        if report.claims_unsupported:
            why.append(_count(report.claims_unsupported, "claim") + " unsupported")
        if items := report.plan_items_uncovered:
            numbers = ", ".join(str(i) for i in items)
            have = "plan item {} has" if len(items) == 1 else "plan items {} have"
            why.append(have.format(numbers) + " no supported claim")
        if report.claims and not progress.citations:
            why.append("no citations")
        # Not gaps of a checked report: model claims citing unread sources were refused before
        # it was written (citations_dropped), and it quotes passages, not notes (a small model
        # takes none that pass their check, and the extractive floor needs none).
        if progress.sources_failed:
            why.append(_count(progress.sources_failed, "source") + " could not be read")
        if progress.searches_failed:
            why.append(_count(progress.searches_failed, "search", "searches") + " failed")
        if not progress.sources_read:
            why.append("no sources read")
        return "; ".join(why)

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

    async def save_run_files(self, view: RunView) -> None:
        """final.md and context_bundle.json, the finished run's hand-over files (seed 002's
        front end reads them; activities/run_files.py), after run.json."""
        req = SaveRunFiles(run_id=self.folder, view=view)
        summary = "save final.md and context_bundle.json"
        await self.runner.call(SAVE_RUN_FILES, req, summary, interruptible=False)

    async def save(self, name: str, data: dict | list) -> str:
        """Save `data` as the run's `name`; runs to the end even after a `stop`."""
        req = SaveJson(run_id=self.folder, name=name, data=data)
        return await self.runner.call(SAVE_JSON, req, f"save {name}", interruptible=False)


def _count(n: int, one: str, many: str = "") -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"
