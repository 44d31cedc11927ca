"""Waiting for people: clarification answers, a plan or report decision, or more budget.

Every wait works the same way whatever it is for: open the pending input with its deadline,
then wait for the answer, a `stop` (Stopped) or the deadline (Expired), and record what came in
the run's tracker. A run with webhooks is notified that input is awaited, and a run with
reminders or escalation runs their timers beside the wait (workflows/reminders.py), each behind
its `workflow.patched` so runs recorded before them replay unchanged. Deterministic only.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any, Literal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.run import ClarificationAnswer, ClarifyingQuestion, Decision, PendingInput
from workflows.calls import Stopped, StopSwitch
from workflows.reminders import REMINDERS_PATCH, Reminders
from workflows.review import ReviewGate
from workflows.tracker import RunTracker


class Expired(Exception):
    """A person did not answer before the deadline."""


class HumanWaits:
    """The waits of a research run, on its review `gate`; each lasts at most `input_timeout`."""

    def __init__(
        self,
        gate: ReviewGate,
        track: RunTracker,
        stop: StopSwitch,
        input_timeout: timedelta,
        max_revisions: int,
        reminders: Reminders | None = None,
    ) -> None:
        self.gate = gate
        self.track = track
        self.stop = stop
        self.input_timeout = input_timeout
        self.max_revisions = max_revisions
        # Reminders, escalation and notifications (a research run's; none in unit tests).
        self.reminders = reminders

    def _deadline(self) -> dict[str, object]:
        now = workflow.now()
        return {"since": now, "deadline": now + self.input_timeout}

    async def wait(self, pending: PendingInput, details: str) -> None:
        """Open `pending` and wait until a person answers it; Stopped or Expired otherwise."""
        self.gate.open(pending)
        self.track.await_input(pending, details)
        if self.reminders is not None:
            deadline = pending.deadline.isoformat()
            await self.reminders.notifier.send(
                "input_awaited", details, kind=pending.kind, deadline=deadline, **_what(pending)
            )
        watch: asyncio.Task[None] | None = None
        if (
            self.reminders is not None
            and self.reminders.configured
            and workflow.patched(REMINDERS_PATCH)
        ):
            watch = asyncio.create_task(
                self.reminders.watch(pending, lambda: self.gate.pending is pending)
            )
        try:
            outcome = await self.gate.wait(lambda: self.stop.asked)
        except BaseException:
            if watch is not None:  # the run is cancelled: no reminder after that
                watch.cancel()
            raise
        if watch is not None:
            # The wait is closed (gate.pending is None): the watch sees it and ends.
            await watch
        if outcome == "interrupted":
            raise Stopped()
        if outcome == "expired":
            raise Expired(f"no {pending.kind} input before the deadline {pending.deadline}")

    async def clarification(self, questions: list[ClarifyingQuestion]) -> ClarificationAnswer:
        """Ask the clarifying questions; the person answers them or skips."""
        await self.wait(
            PendingInput(kind="clarification", questions=questions, **self._deadline()),
            "waiting for answers to the clarifying questions",
        )
        answer = self.gate.answer
        assert answer is not None
        self.track.input_received("clarification", answer.answered_by, skipped=answer.skip)
        return answer

    async def review(self, kind: Literal["plan", "report"], revision: int, **what: str) -> Decision:
        """Ask for a decision on revision `revision` of the plan or report."""
        left = self.max_revisions - revision
        pending = PendingInput(
            kind=kind, revision=revision, revisions_left=left, **what, **self._deadline()
        )  # type: ignore[arg-type]
        await self.wait(pending, f"waiting for a decision on the {kind}")
        decision = self.gate.decision
        assert decision is not None
        # Who decided is `by`; after an escalation, also to which group the wait was handed.
        escalated = {"escalated_to": pending.escalated_to} if pending.escalated_to else {}
        self.track.input_received(
            f"{kind} decision",
            decision.decided_by,
            accepted=decision.accepted,
            comment=decision.comment,
            revision=revision,
            **escalated,
        )
        return decision

    async def budget(self, content: str, details: str) -> Decision:
        """Ask whether the run may go on past its budget (accepted, with new limits) or stop."""
        now = workflow.now()
        pending = PendingInput(
            kind="budget",
            content=content,
            since=now,
            deadline=now + self.input_timeout,
            revisions_left=1,
        )
        await self.wait(pending, details)
        decision = self.gate.decision
        assert decision is not None
        self.track.input_received(
            "budget decision", decision.decided_by, accepted=decision.accepted
        )
        return decision


def _what(pending: PendingInput) -> dict[str, Any]:
    # What a receiver needs to act on the notification; the content stays in the API.
    return {"revision": pending.revision, "questions": len(pending.questions)}
