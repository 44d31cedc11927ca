"""Waiting for people: a clarification, a plan or report decision, or more budget.

A base class of ResearchWorkflow, kept apart because every wait works the same way whatever it
is for: open the pending input with its deadline, then wait for the answer, a `stop` (Stopped)
or the deadline (Expired), and record the decision in the run's tracker. The budget guard waits
through here too. Deterministic only.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.run import Decision, PendingInput
from workflows.carry import Continuable
from workflows.research_loop import Stopped
from workflows.review import ReviewGate


class Expired(Exception):
    """A person did not answer before the deadline."""


class PersonWaits(Continuable):
    """The waits of a research run. Needs the run's `gate` (set by ResearchWorkflow)."""

    gate: ReviewGate

    def _deadline(self) -> dict[str, object]:
        now = workflow.now()
        return {"since": now, "deadline": now + self.inp.options.input_timeout}

    async def _wait_for_person(self, pending: PendingInput, details: str) -> None:
        self.gate.open(pending)
        self.track.await_input(pending, details)
        outcome = await self.gate.wait(lambda: self.stop_request is not None)
        if outcome == "interrupted":
            raise Stopped()
        if outcome == "expired":
            raise Expired(f"no {pending.kind} input before the deadline {pending.deadline}")

    async def _review(self, kind: str, revision: int, **what: str) -> Decision:
        left = self.inp.options.max_revisions - revision
        pending = PendingInput(
            kind=kind, revision=revision, revisions_left=left, **what, **self._deadline()
        )  # type: ignore[arg-type]
        await self._wait_for_person(pending, f"waiting for a decision on the {kind}")
        decision = self.gate.decision
        assert decision is not None
        self.track.input_received(
            f"{kind} decision",
            decision.decided_by,
            accepted=decision.accepted,
            comment=decision.comment,
            revision=revision,
        )
        return decision
