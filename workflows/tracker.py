"""A run's visible state: the status view, the durable event log, and what operators see.

Workflow-side only (deterministic): time comes from `workflow.now()`, and every change that an
operator could filter on is pushed to search attributes and the memo in one place, so the Web UI,
`GET /runs` and the no-worker status fallback never disagree with `get_status`.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    # Why: pydantic models are pure data; re-importing them per workflow run is wasted work.
    from domain.run import (
        TERMINAL_STATUSES,
        EventsPage,
        PendingInput,
        RunEvent,
        RunStatus,
        RunView,
        Stage,
        TrackerState,
        Usage,
    )
    from workflows.search_attributes import (
        COST_USD,
        MEMO_STATUS_KEY,
        RESEARCH_OWNER,
        RESEARCH_STAGE,
        RESEARCH_STATUS,
        TOKENS_USED,
        WAITING_SINCE,
    )

# Runs started before owner / waiting-since / tokens were published keep their old commands.
OPERATOR_ATTRIBUTES_PATCH = "operator-search-attributes"
# Metric names of the worker's Prometheus endpoint (see telemetry/worker_metrics.py).
HUMAN_WAIT_METRIC = "research_human_wait_seconds"
RUNS_FINISHED_METRIC = "research_runs_finished"


class RunTracker:
    """Records a run's progress in `state` (part of the run's RunState, so it carries over
    continue-as-new as it is) and publishes it to operators."""

    def __init__(self, state: TrackerState, owner: str) -> None:
        self.state = state
        self.owner = owner

    @property
    def view(self) -> RunView:
        return self.state.view

    @property
    def events(self) -> list[RunEvent]:
        return self.state.events

    @property
    def dropped(self) -> int:
        # Events before `events[0]`: a run continued as new may carry only the log's tail, and
        # sequence numbers go on from the whole log's length so SSE resumes stay exact.
        return self.state.dropped

    # -- events -----------------------------------------------------------------------------

    def event(self, type_: str, message: str = "", **data: Any) -> None:
        self.view.updated_at = workflow.now()
        self.events.append(
            RunEvent(
                seq=self.dropped + len(self.events) + 1,
                at=self.view.updated_at,
                type=type_,
                stage=self.view.stage,
                message=message,
                data=data,
            )
        )

    def events_after(self, after: int) -> EventsPage:
        # Sequence numbers are list positions + 1 (after the dropped head), so slicing is exact
        # and gap-free; a resume from before the kept tail starts at the oldest event kept.
        start = max(after - self.dropped, 0)
        return EventsPage(
            events=self.events[start:],
            last_seq=self.dropped + len(self.events),
            finished=self.view.status in TERMINAL_STATUSES,
        )

    # -- continue-as-new ------------------------------------------------------------------------

    def snapshot(self, max_events: int) -> TrackerState:
        """What the next run needs to look the same: the view, the log (its last `max_events`)
        and the last published operator values, so nothing is re-upserted for no change."""
        keep = self.events[-max_events:] if max_events > 0 else []
        dropped = self.dropped + len(self.events) - len(keep)
        return self.state.model_copy(update={"events": keep, "dropped": dropped})

    # -- stage, status, pending input --------------------------------------------------------

    def stage(self, stage: Stage, details: str) -> None:
        if self.view.stage != stage:
            self.view.stage = stage
            self.event("stage_changed", details, stage=stage.value)
        self.view.status = RunStatus.running
        self.publish(details)

    def await_input(self, pending: PendingInput, details: str) -> None:
        self.view.pending = pending
        self.view.status = RunStatus.awaiting_input
        self.event(
            "input_awaited", details, kind=pending.kind, deadline=pending.deadline.isoformat()
        )
        self.publish(details)

    def input_received(self, kind: str, by: str, **data: Any) -> None:
        if self.view.pending is not None:
            waited = workflow.now() - self.view.pending.since
            # Workflow metrics are not re-emitted on replay, so each wait is counted once.
            workflow.metric_meter().create_histogram_float(
                HUMAN_WAIT_METRIC, "How long runs waited for a person's input", "s"
            ).record(waited.total_seconds(), {"kind": self.view.pending.kind})
        self.view.pending = None
        self.view.status = RunStatus.running
        self.event("input_received", f"{kind} from {by}", kind=kind, by=by, **data)
        self.publish(f"{kind} received")

    def add_usage(self, usage: Usage) -> None:
        self.view.usage.add(usage)
        if workflow.patched(OPERATOR_ATTRIBUTES_PATCH):
            self._upsert_attributes()

    def finish(self, status: RunStatus, reason: str, error: str | None = None) -> RunView:
        now = workflow.now()
        self.view.status = status
        self.view.stage = Stage.finished
        self.view.pending = None
        self.view.finish_reason = reason
        self.view.error = error
        self.view.finished_at = now
        self.event("finished", reason, status=status.value, error=error)
        self.publish(f"finished: {status.value} ({reason})")
        workflow.metric_meter().create_counter(
            RUNS_FINISHED_METRIC, "Research runs that ended, by final status"
        ).add(1, {"status": status.value})
        workflow.logger.info("run finished: %s (%s)", status.value, reason)
        return self.view

    # -- operator view --------------------------------------------------------------------------

    def publish(self, details: str) -> None:
        """Push status, stage, owner, waiting-since and tokens to search attributes, the memo
        and the Web UI's current details."""
        workflow.set_current_details(
            f"{self.view.status.value} / {self.view.stage.value}: {details}"
        )
        patched = workflow.patched(OPERATOR_ATTRIBUTES_PATCH)
        if patched:
            self._upsert_attributes()
        key = (self.view.status, self.view.stage)
        if key == self.state.published and self.view.status not in TERMINAL_STATUSES:
            return
        self.state.published = key
        workflow.logger.info("%s / %s: %s", key[0].value, key[1].value, details)
        if not patched:
            # Runs started before the operator attributes replay the commands they recorded.
            workflow.upsert_search_attributes(
                [
                    RESEARCH_STATUS.value_set(self.view.status.value),
                    RESEARCH_STAGE.value_set(self.view.stage.value),
                ]
            )
        workflow.upsert_memo({MEMO_STATUS_KEY: self.view.model_dump(mode="json")})

    def _upsert_attributes(self) -> None:
        waiting = self.view.pending.since if self.view.pending else None
        wanted: list[tuple[Any, object]] = [
            (RESEARCH_STATUS, self.view.status.value),
            (RESEARCH_STAGE, self.view.stage.value),
            (RESEARCH_OWNER, self.owner),
            (WAITING_SINCE, waiting),
            (TOKENS_USED, self.view.usage.total_tokens),
            (COST_USD, round(self.view.usage.cost_usd, 6)),
        ]
        updates: list[SearchAttributeUpdate[Any]] = []
        for key, value in wanted:
            if key.name in self.state.attributes and self.state.attributes[key.name] == value:
                continue
            self.state.attributes[key.name] = value
            updates.append(key.value_unset() if value is None else key.value_set(value))
        if updates:
            workflow.upsert_search_attributes(updates)
