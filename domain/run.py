"""Inputs, outputs and state views of the research and approval workflows.

These models cross the Temporal boundary (workflow inputs, update/query payloads) and the REST
boundary, so they stay plain pydantic with no I/O. What a run is started with (`RunOptions`,
`FollowUpSeed`) lives in `domain/options.py`, activity payloads in `domain/calls.py`, and a run's
input and its whole durable state (`ResearchInput`, `RunState`) in `domain/state.py`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

from domain.options import MAX_WAIT, RunOptions


class RunStatus(StrEnum):
    queued = "queued"
    running = "running"
    awaiting_input = "awaiting_input"
    completed = "completed"
    completed_with_gaps = "completed_with_gaps"
    failed = "failed"
    cancelled = "cancelled"
    stopped = "stopped"
    expired = "expired"


TERMINAL_STATUSES = frozenset(RunStatus) - {
    RunStatus.queued,
    RunStatus.running,
    RunStatus.awaiting_input,
}


class Stage(StrEnum):
    clarifying = "clarifying"
    planning = "planning"
    plan_review = "plan_review"
    researching = "researching"
    writing = "writing"
    report_review = "report_review"
    revising = "revising"
    finished = "finished"


class ClarifyingQuestion(BaseModel):
    id: str
    text: str


class ClarificationAnswer(BaseModel):
    answers: dict[str, str] = Field(default_factory=dict)
    skip: bool = False
    request_id: str | None = None
    answered_by: str = "anonymous"


class BudgetLimits(BaseModel):
    """New limits for a run paused on its budget; unset fields keep the current limit."""

    max_tokens: int | None = Field(default=None, ge=1)
    max_cost_usd: float | None = Field(default=None, gt=0)
    max_duration: timedelta | None = Field(default=None, ge=timedelta(seconds=1), le=MAX_WAIT)


class Decision(BaseModel):
    accepted: bool
    comment: str = ""
    decided_by: str = "anonymous"
    request_id: str | None = None
    budget: BudgetLimits | None = Field(
        default=None, description="With accepted=true on a `budget` pause: the extended limits"
    )
    # Checked by the update validator (domain/plan.py), not here, so a bad plan is refused
    # with an error_code (`invalid_plan`) a caller can act on.
    plan: list[str] | None = Field(
        default=None,
        description="With accepted=true at plan review: the edited plan that replaces the draft",
    )


class StopRequest(BaseModel):
    reason: str = ""
    requested_by: str = "anonymous"


class DecisionResult(BaseModel):
    accepted: bool
    subject: str
    revision: int
    replayed: bool = False


class PendingInput(BaseModel):
    kind: Literal["clarification", "plan", "report", "approval", "budget"]
    since: datetime
    deadline: datetime
    questions: list[ClarifyingQuestion] = Field(default_factory=list)
    content: str | None = None
    artifact_ref: str | None = None
    revision: int = 0
    revisions_left: int = 0
    # The reviewer group this wait was handed to by `escalate_after`; None until then.
    escalated_to: str | None = None


class Usage(BaseModel):
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    def add(self, other: Usage) -> None:
        self.llm_calls += other.llm_calls
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.cost_usd += other.cost_usd

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class Progress(BaseModel):
    round: int = 0
    rounds_total: int = 0
    queries_run: int = 0
    sources_found: int = 0
    sources_read: int = 0
    sources_failed: int = 0
    # Queries no provider could answer after retries (a search outage): a gap in the report.
    searches_failed: int = 0
    notes: int = 0
    revisions: int = 0
    citations: int = 0
    citations_dropped: int = 0
    # From the support check (domain/report.py): claims kept, of them supported, and removed.
    claims: int = 0
    claims_supported: int = 0
    claims_unsupported: int = 0
    # Reminders sent while people's input was awaited (all waits of the run).
    reminders_sent: int = 0
    # A follow-up run's sources taken over from the run it follows (read there, not again);
    # `sources_read` counts them too, as it counts every source in the run.
    sources_reused: int = 0


class RunEvent(BaseModel):
    seq: int
    at: datetime
    type: str
    stage: Stage | None = None
    message: str = ""
    data: dict[str, Any] = Field(default_factory=dict)


class RunView(BaseModel):
    """What `get_status` answers and what the memo keeps when no worker is polling."""

    run_id: str
    question: str
    status: RunStatus
    stage: Stage
    pending: PendingInput | None = None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None
    finish_reason: str | None = None
    error: str | None = None
    progress: Progress = Field(default_factory=Progress)
    usage: Usage = Field(default_factory=Usage)
    plan: str | None = None
    report_ref: str | None = None
    # The report's claims (domain/report.ReportDoc) as JSON; None for runs written before claims.
    report_json_ref: str | None = None
    sources_ref: str | None = None
    options: RunOptions = Field(default_factory=RunOptions)
    # The REST run id of the finished run this one follows up (POST /runs/{id}/followups).
    follow_up_of: str | None = None


class TrackerState(BaseModel):
    """A RunTracker's durable part: the view, the event log and what was last published."""

    view: RunView
    events: list[RunEvent]
    dropped: int = Field(default=0, description="Events before `events[0]`, not carried")
    # The (status, stage) last logged and put in the memo, and the search attribute values last
    # upserted: each is written again only when it changes.
    published: tuple[RunStatus, Stage] | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)


class GateRecord(BaseModel):
    """One idempotency record of a ReviewGate: a request id, the request as sent, its result."""

    kind: str
    request_id: str
    request: str
    result: DecisionResult


class EventsPage(BaseModel):
    events: list[RunEvent]
    last_seq: int
    finished: bool


class ApprovalInput(BaseModel):
    approval_id: str
    title: str
    content: str | None = None
    artifact_ref: str | None = None
    timeout: timedelta = Field(default=timedelta(days=7), ge=timedelta(seconds=1), le=MAX_WAIT)
    requested_by: str = "anonymous"


class ApprovalView(BaseModel):
    approval_id: str
    title: str
    status: Literal["pending", "accepted", "rejected", "expired", "cancelled"]
    content: str | None = None
    artifact_ref: str | None = None
    created_at: datetime
    deadline: datetime
    decided_at: datetime | None = None
    decision: Decision | None = None
