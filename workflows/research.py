"""ResearchWorkflow: clarify → plan (→ plan review) → research → write → report review → finish.

The long-lived, human-paced part of a run. All I/O happens in activities; this class only
decides what comes next, records it in the run's tracker and waits for people. Its base classes,
one concern each: ReportWriter (writing.py) → PersonWaits (waiting.py) → Continuable (carry.py)
→ BudgetGuard (budget.py) → ResearchLoop (research_loop.py) → SourceReader (reading.py).
"""

from __future__ import annotations

import asyncio

from pydantic import ValidationError
from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from domain.calls import (
        PlanRequest,
        PlanResult,
        QuestionsRequest,
        QuestionsResult,
        ReportResult,
    )
    from domain.run import (
        ClarificationAnswer,
        Decision,
        DecisionResult,
        EventsPage,
        PendingInput,
        ResearchInput,
        RunStatus,
        RunView,
        Stage,
        StopRequest,
    )
from workflows.carry import CarriedState
from workflows.research_loop import Stopped
from workflows.review import ReviewGate, refuse
from workflows.waiting import Expired
from workflows.writing import ReportWriter


# Bad input that slipped past the API (a direct client) fails the run instead of retrying the
# workflow task forever.
@workflow.defn(failure_exception_types=[ValidationError, OverflowError])
class ResearchWorkflow(ReportWriter):
    @workflow.init
    def __init__(self, inp: ResearchInput) -> None:
        super().__init__(inp)
        self.init_budget()
        self.gate = ReviewGate()
        self.clarifications: dict[str, str] = {}
        self.report: ReportResult | None = None
        if inp.carried is not None:  # continued as new: pick up where the last run stopped
            self.restore(CarriedState.model_validate(inp.carried))

    @workflow.run
    async def run(self, inp: ResearchInput) -> RunView:
        try:
            try:
                status, reason = await self._research()
            except Stopped:
                status, reason = await self._finish_stopped()
            except Expired as exc:
                status, reason = RunStatus.expired, str(exc)
            view = self.track.finish(status, reason)
            await self._save("run.json", view.model_dump(mode="json"))
        except (asyncio.CancelledError, ActivityError) as exc:
            # Also covers the stop and final-save paths, so the status never lags the outcome.
            if not is_cancelled_exception(exc):
                self.track.finish(RunStatus.failed, "error", error=_describe(exc))
                raise ApplicationError(f"research failed: {_describe(exc)}") from exc
            self.track.finish(RunStatus.cancelled, "cancelled")
            raise
        await workflow.wait_condition(workflow.all_handlers_finished)
        return view

    # -- messages ------------------------------------------------------------------------------

    @workflow.update
    def answer_clarification(self, answer: ClarificationAnswer) -> DecisionResult:
        return self.gate.apply_answer(answer)

    @answer_clarification.validator
    def _validate_answer(self, answer: ClarificationAnswer) -> None:
        if self.gate.replay("answer", answer) is None:  # a repeat still gets its first result
            self._refuse_if_stopping()
        self.gate.validate_answer(answer)

    @workflow.update
    def decide(self, decision: Decision) -> DecisionResult:
        return self.gate.apply_decision(decision)

    @decide.validator
    def _validate_decision(self, decision: Decision) -> None:
        first_time = self.gate.replay("decide", decision) is None
        if first_time:  # a repeat still gets its first result
            self._refuse_if_stopping()
        self.gate.validate_decision(decision)
        if first_time:
            self.refuse_short_extension(decision)

    @workflow.signal
    def stop(self, request: StopRequest) -> None:
        if self.stop_request is None:
            self.stop_request = request

    @workflow.query
    def get_status(self) -> RunView:
        return self.track.view

    @workflow.query
    def get_events(self, after: int) -> EventsPage:
        return self.track.events_after(after)

    def _refuse_if_stopping(self) -> None:
        if self.stop_request is not None:
            raise refuse("run_stopping", "the run was asked to stop and takes no more input")

    # -- stages --------------------------------------------------------------------------------

    async def _research(self) -> tuple[RunStatus, str]:
        carried = self.carried
        if carried is None:
            await self._clarify()
            await self._plan()
            await self.research_rounds()
        elif carried.resume == "research":
            await self.research_rounds(carried.next_round, carried.gaps)
        resumed_in_review = carried is not None and carried.resume == "review"
        return await self._write_and_review(written=resumed_in_review)

    async def _clarify(self) -> None:
        opts = self.inp.options
        if not opts.clarify or opts.max_questions == 0:
            return
        self.track.stage(Stage.clarifying, "proposing clarifying questions")
        req = QuestionsRequest(question=self.inp.question, max_questions=opts.max_questions)
        result = await self.call(
            "llm.propose_questions", req, QuestionsResult, "propose clarifying questions"
        )
        questions = result.questions[: opts.max_questions]
        if not questions:
            self.track.event("no_questions", "the question is clear enough")
            return
        self.track.event("questions_asked", f"{len(questions)} questions", count=len(questions))
        await self._wait_for_person(
            PendingInput(kind="clarification", questions=questions, **self._deadline()),
            "waiting for answers to the clarifying questions",
        )
        answer = self.gate.answer
        assert answer is not None
        self.track.input_received("clarification", answer.answered_by, skipped=answer.skip)
        if not answer.skip:
            self.clarifications = {
                q.text: answer.answers[q.id] for q in questions if q.id in answer.answers
            }

    async def _plan(self) -> None:
        opts = self.inp.options
        comment: str | None = None
        for revision in range(opts.max_revisions + 1):
            self.track.stage(Stage.planning, "drafting the research plan")
            req = PlanRequest(
                question=self.inp.question,
                clarifications=self.clarifications,
                previous_plan=self.plan or None,
                comment=comment,
            )
            result = await self.call("llm.plan", req, PlanResult, "draft the research plan")
            self.plan = result.plan
            self.track.view.plan = self.plan
            self.track.event("plan_drafted", f"plan revision {revision}", revision=revision)
            if not opts.require_plan_approval:
                return
            self.track.stage(Stage.plan_review, "waiting for plan approval")
            decision = await self._review("plan", revision, content=self.plan)
            if decision.accepted:
                return
            comment = decision.comment

    async def _write_and_review(self, written: bool = False) -> tuple[RunStatus, str]:
        opts = self.inp.options
        if not written:
            self.track.stage(Stage.writing, "writing the report")
            await self._write(comment=None)
        while opts.require_acceptance:
            # Before a wait that may last days, and after every revision: a safe point.
            await self.checkpoint("review")
            self.track.stage(Stage.report_review, "waiting for report acceptance")
            assert self.report is not None
            decision = await self._review(
                "report", self.revision, artifact_ref=self.report.report_ref
            )
            if decision.accepted:
                break
            self.revision += 1
            self.track.view.progress.revisions = self.revision
            self.track.stage(Stage.revising, f"revision {self.revision}: {decision.comment[:80]}")
            await self._write(comment=decision.comment)
        if self._has_gaps():
            return RunStatus.completed_with_gaps, "report has gaps"
        return RunStatus.completed, "accepted" if opts.require_acceptance else "report written"

    async def _finish_stopped(self) -> tuple[RunStatus, str]:
        request = self.stop_request or StopRequest()
        self.track.event("stop_requested", request.reason, by=request.requested_by)
        if self.report is None and self.notes:
            self.track.stage(Stage.writing, "writing a partial report after stop")
            await self._write(comment=None, partial=True)
        why = f" ({request.reason})" if request.reason else ""  # a budget refused, say
        if self.report is not None:
            return RunStatus.completed_with_gaps, f"stopped early with a partial report{why}"
        return RunStatus.stopped, f"stopped before anything could be reported{why}"


def _describe(exc: BaseException) -> str:
    # The root cause is what an operator needs ("bad credentials"), not the activity wrapper.
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return str(exc) or type(exc).__name__
