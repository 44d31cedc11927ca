"""REST bodies. Request bodies forbid unknown fields: a typo is a 422, not a silent default.

Workflow models are reused (subclassed only to tighten validation), so the REST contract and the
Temporal payloads cannot drift apart.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from domain.run import (
    BudgetLimits,
    ClarificationAnswer,
    Decision,
    RunOptions,
    RunStatus,
    Stage,
    StopRequest,
)
from domain.source_policy import SourcePolicy

# Client-chosen run and approval ids: safe in a workflow id, a URL and a file name.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"

Identity = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
RequestId = Annotated[str, StringConstraints(min_length=1, max_length=200)]
ClientId = Annotated[str, StringConstraints(pattern=ID_PATTERN)]


def _visible_text(value: str) -> str:
    # A NUL ends strings in C code downstream (search, logs); a question of only zero-width or
    # control characters is blank to every person and model while passing min_length.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    if not any(unicodedata.category(ch)[0] not in "CZ" for ch in value):
        raise ValueError("must contain visible characters, not only spaces or invisible ones")
    return value


Question = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=4000),
    AfterValidator(_visible_text),
]
HumanWait = Annotated[timedelta, Field(gt=timedelta(0), le=timedelta(days=365))]
# Upper bounds on what one request may ask for: generous for real work, but a typo or a hostile
# client cannot set a budget no one meant to pay (the workflow models keep their own floors).
MAX_TOKENS_BUDGET = 50_000_000
MAX_COST_BUDGET_USD = 10_000.0
ProviderName = Annotated[str, StringConstraints(min_length=1, max_length=64)]
QuestionId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
FolderName = Annotated[str, StringConstraints(min_length=1, max_length=255)]
MAX_ANSWERS = 20  # a run asks at most 10 questions (RunOptions.max_questions)


class Forbid(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(BaseModel):
    error_code: str = Field(examples=["run_not_found"])
    message: str
    details: dict[str, Any] = Field(default_factory=dict)
    request_id: str | None = None


# -- runs -------------------------------------------------------------------------------------


class SourcePolicyBody(SourcePolicy, Forbid):
    """A run's source policy; a misspelt field is a 422 here too."""


class RunOptionsBody(RunOptions, Forbid):
    max_tokens: int | None = Field(
        default=None, ge=1, le=MAX_TOKENS_BUDGET, description="Token budget of the run"
    )
    max_cost_usd: float | None = Field(
        default=None, gt=0, le=MAX_COST_BUDGET_USD, description="Cost budget in USD"
    )
    sources: list[ProviderName] | None = Field(
        default=None,
        max_length=10,
        description="Search providers to use ('local', 'web', or names); unset = all configured",
    )
    input_timeout: HumanWait = Field(
        default=timedelta(days=7),
        description="How long a human wait may last before the run ends `expired`",
    )
    docs_folder: FolderName | None = Field(
        default=None, description="Search only this configured documents folder, by name"
    )
    source_policy: SourcePolicyBody | None = Field(
        default=None, description="Pinned sources, domain allow/deny lists, a date window"
    )


class CreateRunRequest(Forbid):
    question: Question
    run_id: ClientId | None = Field(default=None, description="Defaults to a random hex id")
    options: RunOptionsBody = Field(default_factory=RunOptionsBody)
    created_by: Identity = "anonymous"
    # Seed 002's trigger fields (docs/contracts.md). Sent without `options`, they make the run
    # unattended: no questions, no reviews.
    enable_sql: bool = Field(default=False, description="true is refused: no SQL source yet")
    markdown_path: FolderName | None = Field(
        default=None, description="Search only this configured documents folder, by name"
    )
    log_llm_payload: bool = Field(
        default=False, description="Store each LLM request and reply as artifacts, redacted"
    )


class RunCreated(BaseModel):
    run_id: str
    workflow_id: str
    status: RunStatus
    status_url: str = Field(description="Seed 002's light status: GET .../status")
    run_url: str = Field(description="The full view: GET /api/v1/runs/{id}")
    events_url: str
    report_url: str
    sources_url: str
    output_url: str
    context_url: str


class RunSummary(BaseModel):
    run_id: str
    question: str | None = None
    status: RunStatus | None = None
    stage: Stage | None = None
    started_at: datetime
    closed_at: datetime | None = None
    temporal_status: str | None = Field(default=None, description="Temporal's execution status")
    follow_up_of: str | None = Field(default=None, description="The run this one follows up")


class RunList(BaseModel):
    runs: list[RunSummary]
    next_page_token: str | None = Field(
        default=None, description="Pass as page_token for the next page; absent on the last"
    )


class ClarificationBody(ClarificationAnswer, Forbid):
    answers: dict[QuestionId, Annotated[str, StringConstraints(max_length=4000)]] = Field(
        default_factory=dict, max_length=MAX_ANSWERS, description="Answers keyed by question id"
    )
    request_id: RequestId | None = Field(
        default=None, description="Idempotency key: a repeat returns the first result"
    )
    answered_by: Identity = "anonymous"


class BudgetLimitsBody(BudgetLimits, Forbid):
    max_tokens: int | None = Field(default=None, ge=1, le=MAX_TOKENS_BUDGET)
    max_cost_usd: float | None = Field(default=None, gt=0, le=MAX_COST_BUDGET_USD)


class DecisionBody(Decision, Forbid):
    comment: Annotated[str, StringConstraints(max_length=20_000)] = ""
    budget: BudgetLimitsBody | None = Field(
        default=None, description="With accepted=true on a `budget` pause: the extended limits"
    )
    # Loose caps against abuse only: the run checks the plan itself (1 to 12 items of 3 to 300
    # characters, domain/plan.py) and refuses a bad one as `invalid_plan`, so there is one rule.
    plan: list[Annotated[str, StringConstraints(max_length=2000)]] | None = Field(
        default=None,
        max_length=50,
        description="With accepted=true at plan review: the edited plan (1 to 12 items, each 3 "
        "to 300 characters) that the run researches instead of its draft",
    )
    decided_by: Identity = "anonymous"
    request_id: RequestId | None = Field(
        default=None, description="Idempotency key: a repeat returns the first result"
    )


class StopBody(StopRequest, Forbid):
    reason: Annotated[str, StringConstraints(max_length=2000)] = ""
    requested_by: Identity = "anonymous"


class ActionAccepted(BaseModel):
    run_id: str
    action: Literal["stop", "cancel"]
    status_url: str


# -- approvals --------------------------------------------------------------------------------


class CreateApprovalRequest(Forbid):
    approval_id: ClientId | None = Field(default=None, description="Defaults to a random hex id")
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    content: Annotated[str, StringConstraints(max_length=100_000)] | None = None
    artifact_ref: Annotated[str, StringConstraints(max_length=500)] | None = None
    timeout: HumanWait = Field(default=timedelta(days=7), description="Expires after this")
    requested_by: Identity = "anonymous"


class ApprovalCreated(BaseModel):
    approval_id: str
    workflow_id: str
    status: Literal["pending"] = "pending"
    status_url: str
    decision_url: str


# -- meta -------------------------------------------------------------------------------------


class FlowInput(BaseModel):
    name: str
    kind: Literal["update", "signal", "cancel"]
    endpoint: str


class FlowInfo(BaseModel):
    name: str
    workflow_type: str
    task_queue: str
    start: str
    statuses: list[str]
    stages: list[str]
    inputs: list[FlowInput]


class FlowList(BaseModel):
    flows: list[FlowInfo]


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Ready(BaseModel):
    # With keys on, a caller without a valid key sees only `status` (the rest null).
    status: Literal["ready"] = "ready"
    temporal_address: str | None = None
    namespace: str | None = None
    server_version: str | None = None
    task_queue: str | None = None
    worker_polling: bool | None = Field(
        default=None, description="Whether a worker polled the task queue recently (None: unknown)"
    )
