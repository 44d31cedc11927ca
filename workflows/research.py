"""ResearchWorkflow: clarify → plan (→ plan review) → research → write → report review → finish.

The long-lived, human-paced part of a run. All I/O happens in activities; this class only
decides what comes next and waits for people. Its state is one RunState (domain/state.py); its
parts, given what they need in `__init__`: ActivityRunner (calls.py), HumanWaits (human.py),
BudgetGuard (budget.py), Planner (planning.py), SourceReader (reading.py), ResearchRounds
(rounds.py), ReportWriter (writing.py), Continuation (continuation.py), ClaimReview
(claim_review.py), with RunTracker (tracker.py) and ReviewGate (review.py) for what people
see and send."""

from __future__ import annotations

import asyncio

from pydantic import ValidationError
from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from domain.report import FindSource, StrikeClaim
    from domain.run import (
        ClarificationAnswer,
        Decision,
        DecisionResult,
        EventsPage,
        RunStatus,
        RunView,
        Stage,
        StopRequest,
    )
    from domain.state import ResearchInput, RunState
from workflows.budget import BudgetGuard
from workflows.calls import ActivityRunner, Stopped, StopSwitch
from workflows.claim_review import FIND, STRIKE, ClaimReview
from workflows.continuation import Continuation
from workflows.event_log import FINAL_LOG_PATCH, save_final_log
from workflows.follow_up import FollowUpSeeder
from workflows.human import Expired, HumanWaits
from workflows.notify import Notifier
from workflows.planning import Planner
from workflows.reading import SourceReader
from workflows.reminders import Reminders
from workflows.review import ReviewGate, refuse
from workflows.rounds import ResearchRounds
from workflows.search_attributes import artifact_folder
from workflows.tracker import RunTracker
from workflows.writing import RUN_FILES_PATCH, ReportWriter


# Bad input that slipped past the API (a direct client) fails the run instead of retrying the
# workflow task forever.
@workflow.defn(failure_exception_types=[ValidationError, OverflowError])
class ResearchWorkflow:
    @workflow.init
    def __init__(self, inp: ResearchInput) -> None:
        self.inp = inp
        # A run continued as new picks up the state its predecessor handed over, as it was.
        self.state = inp.carried if inp.carried is not None else RunState.begin(inp, workflow.now())
        state, opts = self.state, inp.options
        self.stop_switch = StopSwitch()
        self.track = RunTracker(state.tracker, inp.created_by)
        self.gate = ReviewGate(state.requests)
        self.notifier = Notifier(self.track, opts.notify, inp.notify_deployment)
        self.human = HumanWaits(
            self.gate, self.track, self.stop_switch, opts.input_timeout, opts.max_revisions
        )
        self.human.reminders = Reminders(self.track, self.notifier, opts)
        self.budget = BudgetGuard(state, self.track, self.gate, self.human, self.stop_switch)
        # Artifacts go to the folder the workflow id names (scoped by owner when the API scoped
        # the id), not to the bare run id that two owners may share.
        folder = artifact_folder(workflow.info().workflow_id)
        self.runner = ActivityRunner(
            self.track,
            self.stop_switch,
            inp.task_start_timeout,
            self.budget.after_usage,
            payload_log=folder if opts.log_llm_payload else None,
        )
        self.continuation = Continuation(
            inp, state, self.track, self.stop_switch, lambda: self.runner.calls_done
        )
        self.planner = Planner(state, self.track, self.runner, self.human, inp.question, opts)
        self.seeder = FollowUpSeeder(state, self.track, self.runner, folder, inp.follow_up)
        reader = SourceReader(state, self.track, self.runner, folder, inp.question)
        self.rounds = ResearchRounds(
            state,
            self.track,
            self.runner,
            reader,
            self.continuation.between_rounds,
            inp.question,
            opts,
        )
        self.writer = ReportWriter(state, self.track, self.runner, folder, inp.question)
        self.claims = ClaimReview(state, self.gate, self.track, self.runner, folder)

    @workflow.run
    async def run(self, inp: ResearchInput) -> RunView:
        try:
            try:
                status, reason = await self._research()
            except Stopped:
                request = self.stop_switch.request or StopRequest()
                status, reason = await self.writer.after_stop(request)
            except Expired as exc:
                status, reason = RunStatus.expired, str(exc)
            view = self.track.finish(status, reason)
            await self.writer.save("run.json", view.model_dump(mode="json"))
            if workflow.patched(FINAL_LOG_PATCH):
                await save_final_log(self.writer.save, self.track.events_after(0))
            if workflow.patched(RUN_FILES_PATCH):
                await self.writer.save_run_files(view)
            await self.notifier.send("finished", reason, status=status.value)
        except (asyncio.CancelledError, ActivityError) as exc:
            # Also covers the stop and final-save paths, so the status never lags the outcome.
            if not is_cancelled_exception(exc):
                self.track.finish(RunStatus.failed, "error", error=_describe(exc))
                await self.notifier.send("failed", _describe(exc), error=_describe(exc))
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
            self.budget.refuse_short_extension(decision)

    @workflow.update
    async def strike_claim(self, req: StrikeClaim) -> DecisionResult:
        return await self.claims.strike(req)

    @strike_claim.validator
    def _validate_strike(self, req: StrikeClaim) -> None:
        self.claims.validate(STRIKE, req, stopping=self.stop_switch.asked)

    @workflow.update
    def find_source(self, req: FindSource) -> DecisionResult:
        return self.claims.find(req)

    @find_source.validator
    def _validate_find(self, req: FindSource) -> None:
        self.claims.validate(FIND, req, stopping=self.stop_switch.asked)

    @workflow.signal
    def stop(self, request: StopRequest) -> None:
        self.stop_switch.ask(request)

    @workflow.query
    def get_status(self) -> RunView:
        return self.track.view

    @workflow.query
    def get_events(self, after: int) -> EventsPage:
        return self.track.events_after(after)

    def _refuse_if_stopping(self) -> None:
        if self.stop_switch.asked:
            raise refuse("run_stopping", "the run was asked to stop and takes no more input")

    # -- stages --------------------------------------------------------------------------------

    async def _research(self) -> tuple[RunStatus, str]:
        state = self.state
        if state.resume is None:  # a fresh run; one continued as new resumes where it left
            await self.planner.clarify()
            await self.seeder.seed_state()  # a follow-up run's sources and context (follow_up.py)
            await self.planner.plan()
            await self.rounds.run()
        elif state.resume == "research":
            await self.rounds.run(state.next_round, state.gaps)
        return await self._write_and_review(written=state.resume == "review")

    async def _write_and_review(self, written: bool = False) -> tuple[RunStatus, str]:
        opts, state = self.inp.options, self.state
        if not written:
            self.track.stage(Stage.writing, "writing the report")
            await self.writer.write(comment=None)
        while opts.require_acceptance:
            # Before a wait that may last days, and after every revision: a safe point.
            await self.continuation.checkpoint("review")
            self.track.stage(Stage.report_review, "waiting for report acceptance")
            assert state.report is not None
            decision = await self.human.review(
                "report", state.revision, artifact_ref=state.report.report_ref
            )
            await self.claims.settled()  # judge and revise the report the reviewer last saw
            if decision.accepted:
                break
            state.revision += 1
            self.track.view.progress.revisions = state.revision
            if (claim := self.claims.take_finding()) is not None:
                await self.rounds.targeted(claim)
            self.track.stage(Stage.revising, f"revision {state.revision}: {decision.comment[:80]}")
            await self.writer.write(comment=decision.comment)
        if gaps := self.writer.gaps():
            return RunStatus.completed_with_gaps, gaps
        return RunStatus.completed, "accepted" if opts.require_acceptance else "report written"


def _describe(exc: BaseException) -> str:
    # The root cause is what an operator needs ("bad credentials"), not the activity wrapper.
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return str(exc) or type(exc).__name__
