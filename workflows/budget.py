"""Budgets: a run that spends its tokens, money or time pauses for a person.

The person extends the budget (a `decide` with accepted=true and new limits) or refuses
(accepted=false), which stops the run with a partial report. Checked after every LLM call.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.run import BudgetLimits, Decision, PendingInput, StopRequest
from workflows.research_loop import ResearchLoop, Stopped
from workflows.review import refuse


class BudgetGuard(ResearchLoop):
    def init_budget(self) -> None:
        opts = self.inp.options
        self.limits = BudgetLimits(
            max_tokens=opts.max_tokens,
            max_cost_usd=opts.max_cost_usd,
            max_duration=opts.max_duration,
        )
        self._budget_paused = False

    def over_budget(self, limits: BudgetLimits | None = None) -> str:
        """What ran out under `limits` (the run's own by default), in words; empty if nothing."""
        usage, limits = self.track.view.usage, limits or self.limits
        if limits.max_tokens is not None and usage.total_tokens >= limits.max_tokens:
            return f"{usage.total_tokens} of {limits.max_tokens} tokens used"
        if limits.max_cost_usd is not None and usage.cost_usd >= limits.max_cost_usd:
            return f"${usage.cost_usd:.4f} of ${limits.max_cost_usd:.4f} spent"
        elapsed = workflow.now() - self.track.view.created_at
        if limits.max_duration is not None and elapsed >= limits.max_duration:
            return f"{elapsed} of {limits.max_duration} elapsed"
        return ""

    def refuse_short_extension(self, decision: Decision) -> None:
        """Validator: an extension must lift what ran out, or the run would pause again at once."""
        pending = self.gate.pending  # type: ignore[attr-defined]
        if pending is None or pending.kind != "budget" or not decision.accepted:
            return
        if decision.budget is None:
            return  # the gate refuses it with its own message
        extended = self.limits.model_copy(update=decision.budget.model_dump(exclude_none=True))
        if spent := self.over_budget(extended):
            raise refuse(
                "invalid_decision",
                f"these limits are already used up ({spent}): raise the one that ran out",
            )

    async def after_usage(self) -> None:
        while (spent := self.over_budget()) and self.stop_request is None:
            if self._budget_paused:
                # A parallel call crossed the line too: one question to the person is enough.
                await workflow.wait_condition(
                    lambda: not self._budget_paused or self.stop_request is not None
                )
                continue
            self._budget_paused = True
            try:
                decision = await self._ask_for_budget(spent)
            finally:
                self._budget_paused = False
            if not decision.accepted:
                self.stop_request = StopRequest(
                    reason=f"budget not extended ({spent})", requested_by=decision.decided_by
                )
                raise Stopped()
            assert decision.budget is not None  # the validator requires it
            extended = decision.budget.model_dump(exclude_none=True)
            self.limits = self.limits.model_copy(update=extended)
            # Status shows the limits in force, not the ones the run started with.
            view = self.track.view
            view.options = view.options.model_copy(update=extended)
            self.track.event("budget_extended", spent, **decision.budget.model_dump(mode="json"))

    async def _ask_for_budget(self, spent: str) -> Decision:
        usage = self.track.view.usage
        content = (
            f"The run's budget ran out: {spent}. So far: {usage.total_tokens} tokens, "
            f"${usage.cost_usd:.4f}, {usage.llm_calls} LLM calls. Accept with new limits to go "
            "on, or reject to stop with a partial report."
        )
        now = workflow.now()
        pending = PendingInput(
            kind="budget",
            content=content,
            since=now,
            deadline=now + self.inp.options.input_timeout,
            revisions_left=1,
        )
        await self._wait_for_person(pending, f"budget ran out: {spent}")  # type: ignore[attr-defined]
        decision = self.gate.decision  # type: ignore[attr-defined]
        assert decision is not None
        self.track.input_received(
            "budget decision", decision.decided_by, accepted=decision.accepted
        )
        return decision
