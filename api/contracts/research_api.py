"""Seeds 000/001: the `/research` API, translated onto the main contract.

`request_id` is the run id. A run started here asks clarifying questions (the seed has routes
to read and answer them) but never waits for a plan or report review (it has none), so a client
that answers its questions gets a finished report. See docs/contracts-seeds.md.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import BaseModel, Field

from api.contracts.common import cancel, owned_run, progress_percent, report_markdown, start_run
from api.deps import ArtifactsDep, OwnersDep, PrincipalDep, SettingsDep, TemporalDep
from api.errors import ApiError
from api.routes import error_responses
from api.routes.events import run_events
from api.routes.run_actions import answer_clarification
from api.routes.run_outputs import require_finished
from api.schemas import ClarificationBody, Forbid, Question
from api.sse_schema import SSE_RESPONSES
from api.views import RunHandle, resolve_run_view
from domain.run import ClarifyingQuestion, RunOptions, RunStatus, RunView

TAG = "seed 000/001: /research"
router = APIRouter(prefix="/research", tags=[TAG])

SeedStatus = Literal[
    "pending", "running", "awaiting_clarification", "completed", "failed", "cancelled"
]
STATUS: dict[RunStatus, SeedStatus] = {
    RunStatus.queued: "pending",
    RunStatus.running: "running",
    RunStatus.awaiting_input: "awaiting_clarification",
    RunStatus.completed: "completed",
    RunStatus.completed_with_gaps: "completed",
    RunStatus.failed: "failed",
    RunStatus.expired: "failed",
    RunStatus.cancelled: "cancelled",
    RunStatus.stopped: "cancelled",
}


class ResearchRequest(Forbid):
    query: Question = Field(description="Research query (1 to 4,000 characters)")
    stream: bool = Field(default=True, description="Whether the answer names a stream_url")
    max_search_results: int | None = Field(
        default=None, ge=1, le=50, description="Sources read in all (the run's max_sources)"
    )
    api_keys: dict[str, str] | None = Field(
        default=None, description="Not supported: the service uses its configured providers"
    )


class ResearchResponse(BaseModel):
    request_id: str
    status: Literal["accepted"] = "accepted"
    message: str
    stream_url: str | None
    report_url: str


class ResearchStatus(BaseModel):
    request_id: str
    status: SeedStatus
    stage: str
    message: str
    progress: float = Field(description="0 to 100")
    clarification_needed: bool
    error: str | None
    stream_url: str
    report_url: str


class ClarificationQuestions(BaseModel):
    request_id: str
    clarification_needed: bool
    questions: list[ClarifyingQuestion]


class ResearchReport(BaseModel):
    request_id: str
    status: SeedStatus
    finish_reason: str | None
    report: str = Field(description="The report as Markdown, citations as [n]")


class ResearchAction(BaseModel):
    request_id: str
    status: str
    message: str
    task_cancelled: bool | None = None  # DELETE only, as the seed's cancel answers


async def research_handle(
    request_id: str, client: TemporalDep, principal: PrincipalDep, owners: OwnersDep
) -> RunHandle:
    return await owned_run(request_id, client, principal, owners)


HandleDep = Annotated[RunHandle, Depends(research_handle)]


def _url(request_id: str, suffix: str = "") -> str:
    return f"/research/{request_id}{suffix}"


def _clarifying(view: RunView) -> bool:
    return view.pending is not None and view.pending.kind == "clarification"


@router.post(
    "",
    status_code=202,
    response_model=ResearchResponse,
    responses=error_responses(422, 503, body=True),
)
async def start_research(
    body: ResearchRequest, client: TemporalDep, settings: SettingsDep, principal: PrincipalDep
) -> ResearchResponse:
    """Start new research."""
    if body.api_keys:
        raise ApiError(
            422,
            "api_keys_unsupported",
            "per-request API keys are not supported; the service uses its configured providers",
        )
    sources = {"max_sources": body.max_search_results} if body.max_search_results else {}
    options = RunOptions(require_plan_approval=False, require_acceptance=False, **sources)
    request_id = await start_run(client, settings, principal, body.query, options)
    return ResearchResponse(
        request_id=request_id,
        message="Research started",
        stream_url=_url(request_id, "/stream") if body.stream else None,
        report_url=_url(request_id, "/report"),
    )


@router.get("/{request_id}", response_model=ResearchStatus, responses=error_responses(404, 503))
async def research_status(
    request_id: str, handle: HandleDep, settings: SettingsDep
) -> ResearchStatus:
    """Get research status."""
    view, _ = await resolve_run_view(handle, settings)
    status = STATUS[view.status]
    if status == "awaiting_clarification" and not _clarifying(view):
        status = "running"  # these runs wait for nothing else; kept safe for older runs
    message = view.finish_reason or view.stage.value
    return ResearchStatus(
        request_id=request_id,
        status=status,
        stage=view.stage.value,
        message=f"{view.status.value}: {message}",
        progress=progress_percent(view),
        clarification_needed=_clarifying(view),
        error=view.error,
        stream_url=_url(request_id, "/stream"),
        report_url=_url(request_id, "/report"),
    )


@router.get(
    "/{request_id}/stream",
    responses={**SSE_RESPONSES, **error_responses(404, 422, 503)},
)
async def research_stream(
    request_id: str,
    handle: HandleDep,
    settings: SettingsDep,
    request: Request,
    after: Annotated[int | None, Query(ge=0, description="Send events after this seq")] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> Response:
    """SSE event stream (the run's events; resume with Last-Event-ID)."""
    return await run_events(request_id, handle, settings, request, after, last_event_id)


@router.get(
    "/{request_id}/report", response_model=ResearchReport, responses=error_responses(404, 409, 503)
)
async def research_report(
    request_id: str, handle: HandleDep, settings: SettingsDep, artifacts: ArtifactsDep
) -> ResearchReport:
    """Get final report (409 until the research has finished)."""
    view, _ = await resolve_run_view(handle, settings)
    require_finished(view)
    report = await report_markdown(view, artifacts)
    if report is None:
        raise ApiError(
            409,
            "no_report",
            "the research finished without a report",
            {"status": view.status.value, "finish_reason": view.finish_reason},
        )
    return ResearchReport(
        request_id=request_id,
        status=STATUS[view.status],
        finish_reason=view.finish_reason,
        report=report,
    )


@router.get(
    "/{request_id}/clarification",
    response_model=ClarificationQuestions,
    responses=error_responses(404, 503),
)
async def get_clarification(
    request_id: str, handle: HandleDep, settings: SettingsDep
) -> ClarificationQuestions:
    """Get clarification questions (empty unless the research is waiting for answers)."""
    view, _ = await resolve_run_view(handle, settings)
    clarifying = _clarifying(view)
    return ClarificationQuestions(
        request_id=request_id,
        clarification_needed=clarifying,
        questions=view.pending.questions if view.pending and clarifying else [],
    )


@router.post(
    "/{request_id}/clarification",
    response_model=ResearchAction,
    responses=error_responses(404, 409, 422, 503, 504, body=True),
)
async def post_clarification(
    request_id: str, body: ClarificationBody, handle: HandleDep, principal: PrincipalDep
) -> ResearchAction:
    """Submit clarification response: answers keyed by question id, or skip."""
    # A repeat with the same request_id is answered like the first (Temporal dedupes it).
    await answer_clarification(body, handle, principal)
    return ResearchAction(request_id=request_id, status="running", message="answers received")


@router.delete(
    "/{request_id}", response_model=ResearchAction, responses=error_responses(404, 409, 503)
)
async def cancel_research(
    request_id: str, handle: HandleDep, settings: SettingsDep
) -> ResearchAction:
    """Cancel research (409 when it has already finished)."""
    await cancel(request_id, handle, settings)
    return ResearchAction(
        request_id=request_id,
        status="cancelled",
        message="Research request cancelled",
        task_cancelled=True,
    )
