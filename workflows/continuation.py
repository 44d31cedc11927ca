"""Continue-as-new: a long run hands its state to a fresh run before its history grows large.

Every activity adds events to a run's history; past the server's suggestion (its dynamic config
`limit.historyCount.suggestContinueAsNew` / `limit.historySize.suggestContinueAsNew`) replays
slow down and the history nears its hard limit. At a safe point (before a research round but a
run's first, and before a report review opens, so also after every revision) with no input
pending and no handler running, the run continues as new: same workflow id, a new Temporal run
id, and its RunState as it is, so it goes on as if nothing happened. The REST run id, status,
event sequence numbers, usage, budget limits and the idempotency record of past decisions all
carry over; big texts stay in the artifact store and travel by reference.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.state import ResearchInput, RunState
from workflows.calls import StopSwitch
from workflows.tracker import RunTracker

# Runs started before continue-as-new existed never continue: their histories replay unchanged.
CONTINUE_AS_NEW_PATCH = "continue-as-new"
# The event log's tail carried to the next run. A longer log than this is a run of thousands
# of events; an SSE client resuming from before the tail gets the oldest event kept.
MAX_CARRIED_EVENTS = 1000


class Continuation:
    """Decides at each safe point whether the run continues as new, and hands over its state.
    `calls_done` says how many activities this Temporal run completed."""

    def __init__(
        self,
        inp: ResearchInput,
        state: RunState,
        track: RunTracker,
        stop: StopSwitch,
        calls_done: Callable[[], int],
    ) -> None:
        self.inp = inp
        self.state = state
        self.track = track
        self.stop = stop
        self.calls_done = calls_done

    async def between_rounds(self, next_round: int, gaps: list[str]) -> None:
        """The safe point before research round `next_round` (but a run's first)."""
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
        continued = self.state.continued + 1
        self.track.event(
            "continued_as_new",
            f"history of {history} events handed over to a new Temporal run",
            history=history,
            continued=continued,
        )
        carried = self.state.model_copy(
            update={
                "resume": resume,
                "next_round": next_round,
                "gaps": list(gaps),
                "continued": continued,
                "tracker": self.track.snapshot(MAX_CARRIED_EVENTS),
            }
        )
        workflow.logger.info("continuing as new after %d history events", history)
        # Memo and search attributes are copied to the new run by the server.
        # The same input (so fields added to it later carry too), plus the state.
        workflow.continue_as_new(self.inp.model_copy(update={"carried": carried}))

    def _should_continue(self) -> bool:
        return (
            not self.stop.asked
            and self.calls_done() > 0  # a resumed run makes progress before it may continue
            and workflow.info().is_continue_as_new_suggested()
            # Checked last, so the patch marker is only written by a run that does continue.
            and workflow.patched(CONTINUE_AS_NEW_PATCH)
        )
