"""ApprovalWorkflow: the review step on its own, for any artifact a person must accept or reject.

It shares ReviewGate with the research run, so both validate, deduplicate and expire decisions
the same way. A rejection here is final (there is nothing to revise), so no revision is offered.
"""

from __future__ import annotations

from pydantic import ValidationError
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.run import (
        ApprovalInput,
        ApprovalView,
        Decision,
        DecisionResult,
        PendingInput,
    )
from workflows.review import ReviewGate


@workflow.defn(failure_exception_types=[ValidationError, OverflowError])
class ApprovalWorkflow:
    @workflow.init
    def __init__(self, inp: ApprovalInput) -> None:
        now = workflow.now()
        self.gate = ReviewGate()
        # A rejection needs no revision budget here; 1 lets the gate accept one.
        self.gate.open(
            PendingInput(
                kind="approval",
                since=now,
                deadline=now + inp.timeout,
                content=inp.content,
                artifact_ref=inp.artifact_ref,
                revisions_left=1,
            )
        )
        self.view = ApprovalView(
            approval_id=inp.approval_id,
            title=inp.title,
            status="pending",
            content=inp.content,
            artifact_ref=inp.artifact_ref,
            created_at=now,
            deadline=now + inp.timeout,
        )

    @workflow.run
    async def run(self, inp: ApprovalInput) -> ApprovalView:
        workflow.set_current_details(f"waiting for a decision on: {inp.title}")
        outcome = await self.gate.wait()
        if outcome == "expired":
            self.view.status = "expired"
        else:
            decision = self.gate.decision
            assert decision is not None
            self.view.decision = decision
            self.view.decided_at = workflow.now()
            self.view.status = "accepted" if decision.accepted else "rejected"
        workflow.set_current_details(f"{self.view.status}: {inp.title}")
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.view

    @workflow.update
    def decide(self, decision: Decision) -> DecisionResult:
        return self.gate.apply_decision(decision)

    @decide.validator
    def _validate_decision(self, decision: Decision) -> None:
        self.gate.validate_decision(decision)

    @workflow.query
    def get_status(self) -> ApprovalView:
        return self.view
