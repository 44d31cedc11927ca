"""Budgets: a run that spends its tokens, money or time pauses for a person.

The person extends the budget (a `decide` with accepted=true and new limits) or refuses
(accepted=false), which stops the run with a partial report. Checked after every LLM call.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.run import BudgetLimits, Decision, StopRequest
    from domain.state import RunState
from workflows.calls import Stopped, StopSwitch
from workflows.human import HumanWaits
from workflows.review import ReviewGate, refuse
from workflows.tracker import RunTracker


class BudgetGuard:
    """Holds the run to `state.limits`, asking a person through `human` when one runs out.
    `clock` is the workflow's clock (`workflow.now`); tests hand in their own."""

    def __init__(
        self,
        state: RunState,
        track: RunTracker,
        gate: ReviewGate,
        human: HumanWaits,
        stop: StopSwitch,
        clock: Callable[[], datetime] = workflow.now,
    ) -> None:
        self.state = state
        self.track = track
        self.gate = gate
        self.human = human
        self.stop = stop
        self.clock = clock
        # A budget question is open: parallel calls that cross the line wait for its answer.
        # Not in RunState: a run continues as new only between calls, never during a pause.
        self.paused = False

    def over_budget(self, limits: BudgetLimits | None = None) -> str:
        """What ran out under `limits` (the run's own by default), in words; empty if nothing."""
        usage, limits = self.track.view.usage, limits or self.state.limits
        if limits.max_tokens is not None and usage.total_tokens >= limits.max_tokens:
            return f"{usage.total_tokens} of {limits.max_tokens} tokens used"
        if limits.max_cost_usd is not None and usage.cost_usd >= limits.max_cost_usd:
            return f"${usage.cost_usd:.4f} of ${limits.max_cost_usd:.4f} spent"
        elapsed = self.clock() - self.track.view.created_at
        if limits.max_duration is not None and elapsed >= limits.max_duration:
            return f"{elapsed} of {limits.max_duration} elapsed"
        return ""

    def refuse_short_extension(self, decision: Decision) -> None:
        """Validator: an extension must lift what ran out, or the run would pause again at once."""
        pending = self.gate.pending
        if pending is None or pending.kind != "budget" or not decision.accepted:
            return
        if decision.budget is None:
            return  # the gate refuses it with its own message
        update = decision.budget.model_dump(exclude_none=True)
        extended = self.state.limits.model_copy(update=update)
        if spent := self.over_budget(extended):
            raise refuse(
                "invalid_decision",
                f"these limits are already used up ({spent}): raise the one that ran out",
            )

    async def after_usage(self) -> None:
        """Pause for a person while the run is over budget; Stopped if they refuse more."""
        while (spent := self.over_budget()) and not self.stop.asked:
            if self.paused:
                # A parallel call crossed the line too: one question to the person is enough.
                await workflow.wait_condition(lambda: not self.paused or self.stop.asked)
                continue
            self.paused = True
            try:
                decision = await self.human.budget(
                    self._question(spent), f"budget ran out: {spent}"
                )
            finally:
                self.paused = False
            if not decision.accepted:
                self.stop.request = StopRequest(
                    reason=f"budget not extended ({spent})", requested_by=decision.decided_by
                )
                raise Stopped()
            assert decision.budget is not None  # the validator requires it
            extended = decision.budget.model_dump(exclude_none=True)
            self.state.limits = self.state.limits.model_copy(update=extended)
            # Status shows the limits in force, not the ones the run started with.
            view = self.track.view
            view.options = view.options.model_copy(update=extended)
            self.track.event("budget_extended", spent, **decision.budget.model_dump(mode="json"))

    def _question(self, spent: str) -> str:
        usage = self.track.view.usage
        return (
            f"The run's budget ran out: {spent}. So far: {usage.total_tokens} tokens, "
            f"${usage.cost_usd:.4f}, {usage.llm_calls} LLM calls. Accept with new limits to go "
            "on, or reject to stop with a partial report."
        )
