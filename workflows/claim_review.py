"""What a reviewer does to single claims of the report waiting for review: strike one out
(`strike_claim`), or ask for a source for one (`find_source`).

Both are exactly-once like `decide`: the request id is recorded in the ReviewGate's records
(carried over continue-as-new), a repeat gets the first result back, and the validators refuse
when no report review is pending, after its decision, or for a claim the report does not hold.

A strike re-renders the report through `support.strike_claim`; strikes run one at a time (each
rewrites the same report), and the review's decision waits for them (`settled`), so the run is
judged on the report the reviewer last saw. A strike is recorded (and its claim taken out)
only once the report is rewritten, so one that fails can be sent again; while it runs, its
claim is refused to a second strike or a find (`claim_being_struck`). A find is the review's
decision: a rejection whose comment names the claim, after which the run searches one round for
it (`take_finding`), then rewrites and re-checks the report as for any rejection (so it needs a
revision left).
Deterministic only.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.table import STRIKE_CLAIM
    from domain.calls import StrikeRequest
    from domain.report import FindSource, StrikeClaim
    from domain.run import Decision, DecisionResult
    from domain.state import RunState
from workflows.calls import ActivityRunner
from workflows.review import ReviewGate, refuse
from workflows.tracker import RunTracker

STRIKE, FIND = "strike", "find"


class ClaimReview:
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
        # Claims whose strike is under way: a second strike of one is refused meanwhile.
        self.striking: set[str] = set()
        # The claim text a `find_source` asked for, until the run searches for it.
        self.finding: str | None = None

    def validate(self, kind: str, req: StrikeClaim | FindSource, stopping: bool) -> None:
        """Refuse a strike or find that cannot be applied; no state changes here."""
        if self.gate.replay(kind, req) is not None:  # a repeat still gets its first result
            return
        if stopping:
            raise refuse("run_stopping", "the run was asked to stop and takes no more input")
        pending = self.gate.pending
        if pending is None or pending.kind != "report" or self.gate.decision is not None:
            raise refuse("nothing_pending", "no report is waiting for review")
        report = self.state.report
        if report is None or not report.json_ref:
            raise refuse("wrong_stage", "this report has no checked claims")
        known = self.state.claim_ids if kind == STRIKE else self.state.claim_texts
        if req.claim_id not in known:
            raise refuse("unknown_claim", f"the report has no claim {req.claim_id!r} to {kind}")
        if req.claim_id in self.striking:
            raise refuse("claim_being_struck", f"claim {req.claim_id!r} is being struck")
        if kind == FIND and pending.revisions_left <= 0:
            raise refuse("revision_limit", "no revisions left: accept it, or stop the run")

    def find(self, req: FindSource) -> DecisionResult:
        """Decide the review: rewrite after one round of search for the claim."""
        replayed = self.gate.replay(FIND, req)
        if replayed is not None:
            return replayed
        assert self.gate.pending is not None  # the validator saw the report review
        self.finding = self.state.claim_texts[req.claim_id]
        comment = f"Find a source for this claim: {self.finding}"
        self.gate.decision = Decision(accepted=False, comment=comment, decided_by=req.requested_by)
        result = DecisionResult(
            accepted=False, subject="report", revision=self.gate.pending.revision
        )
        self.gate.remember(FIND, req, result)
        return result

    def take_finding(self) -> str | None:
        finding, self.finding = self.finding, None
        return finding

    async def strike(self, req: StrikeClaim) -> DecisionResult:
        replayed = self.gate.replay(STRIKE, req)
        if replayed is not None:
            return replayed
        state = self.state
        result = DecisionResult(accepted=True, subject="claim", revision=state.revision)
        # Marked at once, so a second strike of the same claim is refused while this one runs;
        # taken out and recorded only once the report is rewritten: a strike that fails leaves
        # the claim in place, to be struck again, and no record saying it was.
        self.striking.add(req.claim_id)
        try:
            async with self.lock:
                await self._strike(req)
        finally:
            self.striking.discard(req.claim_id)
        if req.claim_id in state.claim_ids:
            state.claim_ids.remove(req.claim_id)
        state.claim_texts.pop(req.claim_id, None)
        self.gate.remember(STRIKE, req, result)
        return result

    async def settled(self) -> None:
        """Wait until every strike sent before the decision is in the report."""
        if self.striking:
            await workflow.wait_condition(lambda: not self.striking)

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
