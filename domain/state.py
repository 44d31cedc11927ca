"""A research run's input and its whole durable state.

`RunState` is everything a run knows that must outlive a worker: the workflow's parts read and
change it in place, and when a long run continues as new it is the payload, as it is. Adding a
field to a run is one field here (with a default, so older payloads still load).

It sits beside `ResearchInput` because the input carries it (`carried`), and it holds activity
payloads (sources, notes, the report), which `domain/calls.py` defines on top of `domain/run.py`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from domain.calls import ReportResult
from domain.options import FollowUpSeed
from domain.run import (
    BudgetLimits,
    GateRecord,
    RunOptions,
    RunStatus,
    RunView,
    Stage,
    TrackerState,
)
from domain.sources import Note, ReadSource


class RunState(BaseModel):
    """The durable state of one research run, and its continue-as-new payload.

    Its JSON is a superset of the `CarriedState` that runs recorded before this model existed
    (resume … report), so their continued histories still replay. Source passages are bounded
    (3 per source, ~220 words each, at most 50 sources), so this stays well under 1 MB.
    """

    # Where a run that continued as new picks up; None for a run that started from its question.
    resume: Literal["research", "review"] | None = None
    # The research round to resume with, and the gaps the round before it found.
    next_round: int = 1
    gaps: list[str] = Field(default_factory=list)
    continued: int = Field(default=0, description="How many times the chain continued as new")
    tracker: TrackerState
    # The review gate's idempotency record: a decision repeated after a boundary is answered.
    requests: list[GateRecord] = Field(default_factory=list)
    limits: BudgetLimits
    plan: str = ""
    queries: list[str] = Field(default_factory=list)
    sources: list[ReadSource] = Field(default_factory=list)
    notes: list[Note] = Field(default_factory=list)
    revision: int = 0
    clarifications: dict[str, str] = Field(default_factory=dict)
    report: ReportResult | None = None
    # The checked report's claims a reviewer may still strike, and those (kept or unsupported)
    # a reviewer may ask a source for, id to text (workflows/claim_review.py).
    claim_ids: list[str] = Field(default_factory=list)
    claim_texts: dict[str, str] = Field(default_factory=dict)
    # A follow-up run's context for the plan and writer prompts: what the run it follows
    # reported (workflows/follow_up.py); "" for every other run.
    seed_context: str = ""

    @classmethod
    def begin(cls, inp: ResearchInput, now: datetime) -> RunState:
        """The state of a run that starts from its question at `now`."""
        opts = inp.options
        view = RunView(
            run_id=inp.run_id,
            question=inp.question,
            status=RunStatus.running,
            stage=Stage.clarifying,
            created_at=now,
            updated_at=now,
            options=opts,
            follow_up_of=inp.follow_up.run_id if inp.follow_up else None,
        )
        limits = BudgetLimits(
            max_tokens=opts.max_tokens,
            max_cost_usd=opts.max_cost_usd,
            max_duration=opts.max_duration,
        )
        return cls(tracker=TrackerState(view=view, events=[]), limits=limits)


class ResearchInput(BaseModel):
    run_id: str
    question: str
    options: RunOptions = Field(default_factory=RunOptions)
    created_by: str = "anonymous"
    # An activity no worker started in this long was lost (say, the server died while handing
    # it out) and is scheduled again. Not an API option; tests shorten it.
    task_start_timeout: timedelta = timedelta(minutes=10)
    # Set by the API when its settings name deployment webhooks (notify_urls): the run then
    # notifies them too. The URLs and secret stay in the worker's settings, out of history.
    notify_deployment: bool = False
    # Set by the API for a follow-up run: the finished run whose sources and report seed it.
    follow_up: FollowUpSeed | None = None
    # Set only when a run continues as new: the state of the run it continues.
    carried: RunState | None = None
