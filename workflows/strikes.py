"""A reviewer strikes a claim out of the report waiting for review (the `strike_claim` update).

Exactly-once like `decide`: the request id is recorded in the ReviewGate's records (carried over
continue-as-new), a repeat gets the first result back, and the validator refuses a strike when
no report review is pending, after its decision, or for a claim the report does not hold. The
handler re-renders the report through `support.strike_claim`; strikes run one at a time (each
rewrites the same report), and the review's decision waits for them (`settled`), so the run is
judged on the report the reviewer last saw. Deterministic only.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.table import STRIKE_CLAIM
    from domain.calls import StrikeRequest
    from domain.report import StrikeClaim
    from domain.run import DecisionResult
    from domain.state import RunState
from workflows.calls import ActivityRunner
from workflows.review import ReviewGate, refuse
from workflows.tracker import RunTracker

KIND = "strike"


class ClaimStrikes:
    def __init__(
        self,
        state: RunState,
        gate: ReviewGate,
        track: RunTracker,
        runner: ActivityRunner,
        folder: str,
    ) -> None:
        self.state = state
        self.gate = gate
        self.track = track
        self.runner = runner
        self.folder = folder
        self.lock = asyncio.Lock()
        self.in_flight = 0

    def validate(self, req: StrikeClaim, stopping: bool) -> None:
        """Refuse a strike that cannot be applied; no state changes here."""
        if self.gate.replay(KIND, req) is not None:  # a repeat still gets its first result
            return
        if stopping:
            raise refuse("run_stopping", "the run was asked to stop and takes no more input")
        pending = self.gate.pending
        if pending is None or pending.kind != "report" or self.gate.decision is not None:
            raise refuse("nothing_pending", "no report is waiting for review")
        report = self.state.report
        if report is None or not report.json_ref:
            raise refuse("wrong_stage", "this report has no checked claims to strike")
        if req.claim_id not in self.state.claim_ids:
            raise refuse("unknown_claim", f"the report has no claim {req.claim_id!r}")

    async def apply(self, req: StrikeClaim) -> DecisionResult:
        replayed = self.gate.replay(KIND, req)
        if replayed is not None:
            return replayed
        state = self.state
        # Taken at once, so a second strike of the same claim is refused while this one runs.
        state.claim_ids.remove(req.claim_id)
        result = DecisionResult(accepted=True, subject="claim", revision=state.revision)
        self.gate.remember(KIND, req, result)
        self.in_flight += 1
        try:
            async with self.lock:
                await self._strike(req)
        finally:
            self.in_flight -= 1
        return result

    async def settled(self) -> None:
        """Wait until every strike sent before the decision is in the report."""
        if self.in_flight:
            await workflow.wait_condition(lambda: self.in_flight == 0)

    async def _strike(self, req: StrikeClaim) -> None:
        state, view = self.state, self.track.view
        assert state.report is not None  # the validator saw one; reports are never unset
        arg = StrikeRequest(
            run_id=self.folder,
            json_ref=state.report.json_ref,
            claim_id=req.claim_id,
            reason=req.reason,
        )
        summary = f"strike claim {req.claim_id}"
        done = await self.runner.call(STRIKE_CLAIM, arg, summary, interruptible=False)
        state.report = state.report.model_copy(
            update={
                "claims": done.claims,
                "claims_supported": done.claims_supported,
                "plan_items_uncovered": done.plan_items_uncovered,
                "citations": done.citations,
                "chars": done.chars,
            }
        )
        progress = view.progress
        progress.claims, progress.claims_supported = done.claims, done.claims_supported
        progress.citations = done.citations
        self.track.event(
            "claim_struck",
            summary,
            claim_id=req.claim_id,
            reason=req.reason,
            by=req.struck_by,
            claims=done.claims,
        )
