"""Seed 003: the jobs API, translated onto the main contract.

`job_id` is the run id. A job client only submits, polls, streams and cancels: it never answers
a question or reviews a report, so its runs start with no clarification and no human review
(`UNATTENDED`) and always reach an end by themselves. See docs/contracts-seeds.md.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Request, Response
from pydantic import BaseModel, Field, model_validator

from api.contracts.common import (
    UNATTENDED,
    cancel,
    owned_run,
    progress_percent,
    report_markdown,
    stage_percent,
    start_run,
)
from api.deps import ArtifactsDep, OwnersDep, PrincipalDep, SettingsDep, TemporalDep
from api.event_feed import Comment, End, EventFeed, stream_of
from api.routes import error_responses, run_url
from api.routes.events import RETRY_MS, CountedStream, _slot, resume_point
from api.schemas import Forbid, Question
from api.sse_schema import SSE_RESPONSES
from api.views import RunHandle, resolve_run_view
from domain.run import TERMINAL_STATUSES, RunEvent, RunStatus
from settings import Settings

TAG = "seed 003: /jobs"
router = APIRouter(prefix="/jobs", tags=[TAG])

JobState = Literal["pending", "running", "completed", "failed", "cancelled"]
STATUS: dict[RunStatus, JobState] = {
    RunStatus.queued: "pending",
    RunStatus.running: "running",
    # Unattended runs wait for no one; a budget pause (options this seed cannot set) is running.
    RunStatus.awaiting_input: "running",
    RunStatus.completed: "completed",
    RunStatus.completed_with_gaps: "completed",
    RunStatus.failed: "failed",
    RunStatus.expired: "failed",
    RunStatus.cancelled: "cancelled",
    RunStatus.stopped: "cancelled",
}


class ChatMessage(BaseModel):
    role: str
    content: str


class JobRequest(Forbid):
    query: Question | None = Field(default=None, description="The research question")
    messages: list[ChatMessage] | None = Field(
        default=None, max_length=100, description="Chat form: the last user message is the query"
    )
    max_search_results: int | None = Field(default=None, ge=1, le=50)

    @model_validator(mode="after")
    def _one_question(self) -> JobRequest:
        if self.query is None and not any(m.role == "user" for m in self.messages or []):
            raise ValueError("give `query`, or `messages` with a user message")
        return self

    def question(self) -> str:
        if self.query is not None:
            return self.query
        return [m.content for m in self.messages or [] if m.role == "user"][-1]


class JobCreated(BaseModel):
    job_id: str
    status: Literal["pending"] = "pending"
    status_url: str
    stream_url: str


class JobResult(BaseModel):
    report: str = Field(description="The report as Markdown, citations as [n]")
    finish_reason: str | None
    report_url: str = Field(description="The report in other formats (format=md|html|json)")
    sources_url: str


class JobStatus(BaseModel):
    job_id: str
    status: JobState
    progress: float = Field(description="0 to 100")
    result: JobResult | None = None
    error: str | None = None


async def job_handle(
    job_id: str, client: TemporalDep, principal: PrincipalDep, owners: OwnersDep
) -> RunHandle:
    return await owned_run(job_id, client, principal, owners)


HandleDep = Annotated[RunHandle, Depends(job_handle)]


@router.post(
    "", status_code=202, response_model=JobCreated, responses=error_responses(422, 503, body=True)
)
async def create_job(
    body: JobRequest, client: TemporalDep, settings: SettingsDep, principal: PrincipalDep
) -> JobCreated:
    """Submit a research job; it runs to its end with no one attending."""
    sources = {"max_sources": body.max_search_results} if body.max_search_results else {}
    options = UNATTENDED.model_copy(update=sources)
    job_id = await start_run(client, settings, principal, body.question(), options)
    return JobCreated(
        job_id=job_id, status_url=f"/jobs/{job_id}", stream_url=f"/jobs/{job_id}/stream"
    )


@router.get("/{job_id}", response_model=JobStatus, responses=error_responses(404, 503))
async def get_job(
    job_id: str, handle: HandleDep, settings: SettingsDep, artifacts: ArtifactsDep
) -> JobStatus:
    """A job's status, progress (0-100), and its result once it has one."""
    view, _ = await resolve_run_view(handle, settings)
    result = None
    if view.status in TERMINAL_STATUSES and (report := await report_markdown(view, artifacts)):
        result = JobResult(
            report=report,
            finish_reason=view.finish_reason,
            report_url=run_url(job_id, "/report"),
            sources_url=run_url(job_id, "/sources"),
        )
    return JobStatus(
        job_id=job_id,
        status=STATUS[view.status],
        progress=progress_percent(view),
        result=result,
        error=view.error,
    )


@router.delete("/{job_id}", response_model=JobStatus, responses=error_responses(404, 409, 503))
async def cancel_job(job_id: str, handle: HandleDep, settings: SettingsDep) -> JobStatus:
    """Cancel a job (409 when it has already finished)."""
    await cancel(job_id, handle, settings)
    return JobStatus(job_id=job_id, status="cancelled", progress=100.0)


@router.get("/{job_id}/stream", responses={**SSE_RESPONSES, **error_responses(404, 422, 503)})
async def job_stream(
    job_id: str,
    handle: HandleDep,
    settings: SettingsDep,
    request: Request,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> Response:
    """`job_progress` events, then one `job_complete` (ids resume with Last-Event-ID)."""
    after = resume_point(None, last_event_id)
    feed = stream_of(request.app.state, settings, handle, job_id, after, settings.sse_keepalive_s)
    await feed.open()  # an unknown job is a plain 404
    if feed.exhausted:
        feed.close()
        return Response(status_code=204)  # the client has every event: stop reconnecting
    return CountedStream(
        _job_events(feed, job_id, handle, settings),
        _slot(request.app, request.scope, feed),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _sse(event: str, data: dict[str, Any], seq: int | None = None) -> bytes:
    head = f"id: {seq}\n" if seq is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data)}\n\n".encode()


async def _job_events(
    feed: EventFeed, job_id: str, handle: RunHandle, settings: Settings
) -> AsyncIterator[bytes]:
    yield f"retry: {RETRY_MS}\n\n".encode()
    done = {"job_id": job_id, "result_url": f"/jobs/{job_id}"}
    best = 0.0  # an event's stage alone gives the progress; it never goes back
    async for item in feed.items():
        if isinstance(item, RunEvent) and item.type == "finished":
            status = STATUS[RunStatus(item.data["status"])]
            error = item.data.get("error")
            yield _sse("job_complete", {**done, "status": status, "error": error}, item.seq)
        elif isinstance(item, RunEvent):
            best = max(best, stage_percent(item.stage))
            data = {"job_id": job_id, "progress": best, "status": "running"}
            yield _sse("job_progress", {**data, "message": item.message}, item.seq)
        elif isinstance(item, Comment):
            yield f": {item.text}\n\n".encode()
        elif isinstance(item, End) and item.reason == "lagging":
            yield _sse("end", {"reason": item.reason, "message": item.message})
        elif isinstance(item, End):
            # Closed without a `finished` event (terminated, say): its status says how it ended.
            view, _ = await resolve_run_view(handle, settings)
            yield _sse("job_complete", {**done, "status": STATUS[view.status], "error": view.error})
