"""The human review step, shared by ResearchWorkflow (plan and report) and ApprovalWorkflow.

Validation happens in update validators, so a refused decision never enters history; a decision
repeated with the same request id gets the first result back instead of being applied twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.tracker import RunTracker

with workflow.unsafe.imports_passed_through():
    from domain.plan import compare_plans, plan_lines, plan_problem, plan_text
    from domain.report import StrikeClaim
    from domain.run import (
        ClarificationAnswer,
        Decision,
        DecisionResult,
        GateRecord,
        PendingInput,
    )

# Requests a gate keeps idempotency records of: each has a request_id and a JSON form.
Request = Decision | ClarificationAnswer | StrikeClaim

MAX_COMMENT_CHARS = 20_000


def refuse(error_code: str, message: str) -> ApplicationError:
    # The type doubles as the API's error_code, so the facade maps it without parsing text.
    return ApplicationError(message, type=error_code, non_retryable=True)


def edited_plan(track: RunTracker, plan: str, decision: Decision) -> str:
    """The plan text a reviewer's accepted edit gives, recorded as a `plan_edited` event.

    Changes state and the event log only, no command, so it needs no `workflow.patched`: runs
    recorded before plan edits have no `plan` in their decisions and never come here.
    """
    assert decision.plan is not None  # the validator checked it (`plan_problem`)
    text = plan_text(decision.plan)
    edit = compare_plans(plan_lines(plan), plan_lines(text))
    by = decision.decided_by
    track.event(
        "plan_edited",
        f"plan edited by {by}: {edit.summary}",
        by=by,
        items=len(decision.plan),
        added=edit.added,
        removed=edit.removed,
        changed=edit.changed,
    )
    return text


class ReviewGate:
    """One pending human input at a time, with its decision, deadline and idempotency record."""

    def __init__(self, records: list[GateRecord] | None = None) -> None:
        self.pending: PendingInput | None = None
        self.decision: Decision | None = None
        self.answer: ClarificationAnswer | None = None
        # Each request id with the request as sent and its result, changed in place (a research
        # run passes its RunState's list, so the record carries over continue-as-new). Keyed by
        # kind too, so an id used for an answer can't swallow a later decision; the request is
        # kept so a reused id with a different body is refused instead of silently replaying
        # another decision.
        self.records: list[GateRecord] = records if records is not None else []

    def open(self, pending: PendingInput) -> None:
        self.pending = pending
        self.decision = None
        self.answer = None

    # -- validators (no state change allowed here) ------------------------------------------

    def replay(self, kind: str, request: Request) -> DecisionResult | None:
        """The first result for a repeated request id, or None when the id is new."""
        if not request.request_id:
            return None
        record = next(
            (r for r in self.records if (r.kind, r.request_id) == (kind, request.request_id)),
            None,
        )
        if record is None:
            return None
        # Compared as models, not JSON text: a record written before a field was added to the
        # request (Decision.plan) still matches the same request sent again after the upgrade.
        if type(request).model_validate_json(record.request) != request:
            raise refuse(
                "request_id_reused", "this request id was already used for another request"
            )
        return record.result.model_copy(update={"replayed": True})

    def remember(self, kind: str, request: Request, result: DecisionResult) -> None:
        if request.request_id:
            record = GateRecord(
                kind=kind,
                request_id=request.request_id,
                request=request.model_dump_json(),
                result=result,
            )
            self.records.append(record)

    def validate_decision(self, decision: Decision) -> None:
        if self.replay("decide", decision) is not None:
            return
        if self.pending is None:
            raise refuse("nothing_pending", "there is no plan or report waiting for a decision")
        if self.pending.kind == "clarification":
            raise refuse(
                "wrong_stage", "the run is waiting for clarification answers, not a decision"
            )
        if self.decision is not None:
            raise refuse("nothing_pending", "a decision was already taken for this review")
        if decision.plan is not None:
            self._validate_plan_edit(decision)
        if self.pending.kind == "budget":
            if decision.accepted and decision.budget is None:
                raise refuse("invalid_decision", "to go on, send the new limits in `budget`")
            return  # refusing a budget needs no comment: it stops the run
        if not decision.accepted and not decision.comment.strip():
            raise refuse("invalid_decision", "a rejection needs a comment saying what to change")
        if not decision.accepted and self.pending.revisions_left <= 0:
            raise refuse("revision_limit", "no revisions left: accept it, or stop the run")
        if len(decision.comment) > MAX_COMMENT_CHARS:
            raise refuse("invalid_decision", f"comment is longer than {MAX_COMMENT_CHARS} chars")

    def _validate_plan_edit(self, decision: Decision) -> None:
        assert self.pending is not None and decision.plan is not None
        if self.pending.kind != "plan":
            raise refuse(
                "wrong_stage", f"an edited plan is taken at plan review, not at {self.pending.kind}"
            )
        if not decision.accepted:
            raise refuse(
                "invalid_decision",
                "an edited plan is sent with accepted=true; to have it redrafted, reject with a "
                "comment and no plan",
            )
        if (problem := plan_problem(decision.plan)) is not None:
            raise refuse("invalid_plan", problem)

    def validate_answer(self, answer: ClarificationAnswer) -> None:
        if self.replay("answer", answer) is not None:
            return
        if self.pending is None or self.pending.kind != "clarification" or self.answer is not None:
            raise refuse("wrong_stage", "the run is not waiting for clarification answers")
        if answer.skip:
            return
        known = {q.id for q in self.pending.questions}
        unknown = sorted(set(answer.answers) - known)
        if unknown:
            raise refuse("unknown_question", f"unknown question ids: {', '.join(unknown)}")
        if not answer.answers or any(not text.strip() for text in answer.answers.values()):
            raise refuse("empty_answer", "answers must not be empty (send skip=true to skip)")

    # -- handlers ------------------------------------------------------------------------------

    def apply_decision(self, decision: Decision) -> DecisionResult:
        replayed = self.replay("decide", decision)
        if replayed is not None:
            return replayed
        assert self.pending is not None  # the validator guarantees it
        self.decision = decision
        result = DecisionResult(
            accepted=decision.accepted, subject=self.pending.kind, revision=self.pending.revision
        )
        self.remember("decide", decision, result)
        return result

    def apply_answer(self, answer: ClarificationAnswer) -> DecisionResult:
        replayed = self.replay("answer", answer)
        if replayed is not None:
            return replayed
        self.answer = answer
        result = DecisionResult(accepted=not answer.skip, subject="clarification", revision=0)
        self.remember("answer", answer, result)
        return result

    # -- waiting -------------------------------------------------------------------------------

    def has_input(self) -> bool:
        return self.decision is not None or self.answer is not None

    async def wait(self, interrupted: Callable[[], bool] = lambda: False) -> str:
        """Wait until input arrives ("input"), `interrupted()` ("interrupted") or the deadline
        passes ("expired"). The pending input is closed either way."""
        assert self.pending is not None
        remaining = self.pending.deadline - workflow.now()
        outcome = "input"
        try:
            await workflow.wait_condition(
                lambda: self.has_input() or interrupted(),
                timeout=max(remaining, timedelta(seconds=1)),
                timeout_summary=f"{self.pending.kind} deadline",
            )
            if not self.has_input():
                outcome = "interrupted"
        except TimeoutError:
            outcome = "expired"
        self.pending = None
        return outcome
