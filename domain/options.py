"""What a run is started with: its options, and for a follow-up run, the run it follows.

Plain pydantic models that cross the Temporal and REST boundaries, like those in
`domain/run.py` (whose `RunView` carries the options back). No I/O.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, Field, model_validator

from domain.notify import NotifyOptions
from domain.source_policy import SourcePolicy

# The longest any wait or budgeted duration of a run may be.
MAX_WAIT = timedelta(days=365)


class RunOptions(BaseModel):
    clarify: bool = True
    require_plan_approval: bool = False
    require_acceptance: bool = True
    breadth: int = Field(default=3, ge=1, le=10, description="Queries per research round")
    depth: int = Field(default=2, ge=1, le=5, description="Research rounds")
    max_sources: int = Field(default=8, ge=1, le=50)
    max_revisions: int = Field(default=3, ge=0, le=10)
    max_questions: int = Field(default=3, ge=0, le=10)
    max_tokens: int | None = Field(default=None, ge=1, description="Token budget of the run")
    max_cost_usd: float | None = Field(default=None, gt=0, description="Cost budget in USD")
    max_duration: timedelta | None = Field(
        default=None, ge=timedelta(seconds=1), le=MAX_WAIT, description="Wall-time budget"
    )
    sources: list[str] | None = Field(
        default=None,
        max_length=10,
        description="Search providers to use ('local', 'web', or names); unset = all configured",
    )
    input_timeout: timedelta = Field(
        default=timedelta(days=7),
        ge=timedelta(seconds=1),
        le=MAX_WAIT,
        description="How long a human wait may last before the run ends `expired`",
    )
    docs_folder: str | None = Field(
        default=None,
        max_length=255,
        description="Search only this configured documents folder (by name) in the local index",
    )
    log_llm_payload: bool = Field(
        default=False,
        description="Store every LLM request and reply of the run as artifacts, secrets redacted",
    )
    # Reminders and escalation while a person's input is awaited (workflows/reminders.py).
    remind_after: timedelta | None = Field(default=None, ge=timedelta(seconds=1), le=MAX_WAIT)
    remind_every: timedelta | None = Field(default=None, ge=timedelta(seconds=1), le=MAX_WAIT)
    escalate_after: timedelta | None = Field(default=None, ge=timedelta(seconds=1), le=MAX_WAIT)
    escalate_to: str | None = Field(default=None, min_length=1, max_length=200)
    notify: NotifyOptions | None = Field(default=None, description="The run's own webhooks")
    # Pinned sources, domain allow/deny lists, a publication window (domain/source_policy.py).
    source_policy: SourcePolicy | None = None

    @model_validator(mode="after")
    def _escalation_has_a_group(self) -> RunOptions:
        if (self.escalate_after is None) != (self.escalate_to is None):
            raise ValueError("escalate_after and escalate_to go together")
        return self


class FollowUpSeed(BaseModel):
    """What a follow-up run starts from: the finished run it follows and that run's artifacts.

    Set by the API after checking that the caller owns `run_id`; the keys are that run's own
    (its folder is `folder`), read once by the `follow_up.load_seed` activity.
    """

    run_id: str = Field(description="The REST run id of the run followed up")
    folder: str = Field(description="Its artifact folder: run id, plus ~<owner> when scoped")
    sources_ref: str = Field(description="Its sources.json")
    report_ref: str = Field(description="Its report Markdown")
    report_json_ref: str = Field(default="", description="Its ReportDoc JSON; '' before claims")
