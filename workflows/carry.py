"""Continue-as-new: a long run hands its state to a fresh run before its history grows large.

Every activity adds events to a run's history; past the server's suggestion (its dynamic config
`limit.historyCount.suggestContinueAsNew` / `limit.historySize.suggestContinueAsNew`) replays
slow down and the history nears its hard limit. At a safe point (before a research round but a
run's first, and before a report review opens, so also after every revision) with no input
pending and no handler running, the run continues as new: same workflow id, a new Temporal run
id, and everything it needs to go on as if nothing happened. The REST run id, status, event
sequence numbers, usage, budget limits and the idempotency record of past decisions all carry
over; big texts stay in the artifact store and travel by reference.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, Field
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.calls import ReportResult
    from domain.run import BudgetLimits, GateRecord, TrackerState
    from domain.sources import Note, ReadSource
from workflows.budget import BudgetGuard

# Runs started before continue-as-new existed never continue: their histories replay unchanged.
CONTINUE_AS_NEW_PATCH = "continue-as-new"
# The event log's tail carried to the next run. A longer log than this is a run of thousands
# of events; an SSE client resuming from before the tail gets the oldest event kept.
MAX_CARRIED_EVENTS = 1000


class CarriedState(BaseModel):
    """Everything a research run needs from the run it continues. Source passages are bounded
    (3 per source, ~220 words each, at most 50 sources), so this stays well under 1 MB."""

    resume: Literal["research", "review"]
    next_round: int = 1
    gaps: list[str] = Field(default_factory=list)
    continued: int = Field(default=1, description="How many times the chain continued as new")
    tracker: TrackerState
    requests: list[GateRecord] = Field(default_factory=list)
    limits: BudgetLimits
    plan: str = ""
    queries: list[str] = Field(default_factory=list)
    sources: list[ReadSource] = Field(default_factory=list)
    notes: list[Note] = Field(default_factory=list)
    revision: int = 0
    clarifications: dict[str, str] = Field(default_factory=dict)
    report: ReportResult | None = None


class Continuable(BudgetGuard):
    """The research run's continue-as-new: `restore` in `__init__`, `checkpoint` at safe points.
    Needs the run's `gate`, `clarifications` and `report` (set by ResearchWorkflow)."""

    carried: CarriedState | None = None

    def restore(self, state: CarriedState) -> None:
        self.carried = state
        self.track.restore(state.tracker)
        self.gate.restore(state.requests)  # type: ignore[attr-defined]
        self.limits = state.limits
        self.plan = state.plan
        self.queries = list(state.queries)
        self.sources = list(state.sources)
        self.notes = list(state.notes)
        self.revision = state.revision
        self.clarifications = dict(state.clarifications)
        self.report = state.report

    async def between_rounds(self, next_round: int, gaps: list[str]) -> None:
        await self.checkpoint("research", next_round=next_round, gaps=gaps)

    async def checkpoint(
        self,
        resume: Literal["research", "review"],
        next_round: int = 1,
        gaps: Sequence[str] = (),
    ) -> None:
        """Continue as new here if the server suggests it; otherwise return at once."""
        if not self._should_continue():
            return
        # Updates and signals are handled before the history moves on, and their effects carry.
        await workflow.wait_condition(workflow.all_handlers_finished)
        if not self._should_continue():  # a stop may have come in meanwhile
            return
        history = workflow.info().get_current_history_length()
        continued = (self.carried.continued + 1) if self.carried else 1
        self.track.event(
            "continued_as_new",
            f"history of {history} events handed over to a new Temporal run",
            history=history,
            continued=continued,
        )
        state = CarriedState(
            resume=resume,
            next_round=next_round,
            gaps=list(gaps),
            continued=continued,
            tracker=self.track.snapshot(MAX_CARRIED_EVENTS),
            requests=self.gate.records(),  # type: ignore[attr-defined]
            limits=self.limits,
            plan=self.plan,
            queries=self.queries,
            sources=self.sources,
            notes=self.notes,
            revision=self.revision,
            clarifications=self.clarifications,  # type: ignore[attr-defined]
            report=self.report,  # type: ignore[attr-defined]
        )
        workflow.logger.info("continuing as new after %d history events", history)
        # Memo and search attributes are copied to the new run by the server.
        # The same input (so fields added to it later carry too), plus the state.
        workflow.continue_as_new(
            self.inp.model_copy(update={"carried": state.model_dump(mode="json")})
        )

    def _should_continue(self) -> bool:
        return (
            self.stop_request is None
            and self.calls_done > 0  # a resumed run makes progress before it may continue
            and workflow.info().is_continue_as_new_suggested()
            # Checked last, so the patch marker is only written by a run that does continue.
            and workflow.patched(CONTINUE_AS_NEW_PATCH)
        )
