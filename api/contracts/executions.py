"""Seed 004's vocabulary: ExecutionResponse from a run's view, its statuses, steps, WebSocket
events, and its error mapping (400 for validation and invalid state, upper-case codes).

A step is a stage of the run (`step_id` = stage name). Completed steps are the stages before the
current one that this run goes through (plan review only with plan approval, review and revising
only with acceptance, revising only after a rejection).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from temporalio.exceptions import TemporalError

from api.errors import ApiError, _json_safe_errors, temporal_api_error
from domain.run import ClarifyingQuestion, RunEvent, RunStatus, RunView, Stage

STEPS = [s for s in Stage if s != Stage.finished]
RESEARCH = "research"  # the one workflow an execution runs
PROJECT_SEPARATOR = "--"
STATUS: dict[RunStatus, str] = {
    RunStatus.queued: "pending",
    RunStatus.running: "running",
    RunStatus.awaiting_input: "waiting_acceptance",  # refined by what is pending (below)
    RunStatus.completed: "completed",
    RunStatus.completed_with_gaps: "completed",
    RunStatus.failed: "failed",
    RunStatus.expired: "failed",
    RunStatus.stopped: "cancelled",
    RunStatus.cancelled: "cancelled",
}


class AcceptancePending(BaseModel):
    kind: str = Field(description="plan, report or budget")
    content: str | None = None
    revision: int
    revisions_left: int
    deadline: datetime


class ClarificationPending(BaseModel):
    questions: list[ClarifyingQuestion]
    deadline: datetime


class ExecutionResponse(BaseModel):
    execution_id: str
    workflow_id: str
    project_id: str
    status: str = Field(
        description="pending, running, waiting_acceptance, "
        "waiting_clarification, completed, failed, cancelled"
    )
    current_step_id: str | None
    completed_steps: list[str]
    pending_acceptance: AcceptancePending | None
    pending_clarification: ClarificationPending | None
    started_at: datetime | None
    completed_at: datetime | None
    error: str | None


def status_of(view: RunView) -> str:
    if view.status == RunStatus.awaiting_input and view.pending is not None:
        if view.pending.kind == "clarification":
            return "waiting_clarification"
    return STATUS[view.status]


def steps_of(view: RunView) -> list[str]:
    """The stages this run has been through, by its options and revisions."""
    skipped = set()
    if not view.options.require_plan_approval:
        skipped.add(Stage.plan_review)
    if not view.options.require_acceptance:
        skipped |= {Stage.report_review, Stage.revising}
    if view.progress.revisions == 0:
        skipped.add(Stage.revising)
    if not view.options.clarify:
        skipped.add(Stage.clarifying)
    if view.stage == Stage.finished:
        return [s.value for s in STEPS if s not in skipped]
    before = STEPS[: STEPS.index(view.stage)]
    return [s.value for s in before if s not in skipped]


def project_of(execution_id: str) -> str:
    """The project an execution was started for: its id is `<project_id>--<random hex>` (the
    run's input has no place for it); "" for runs started by another contract."""
    project, sep, _ = execution_id.rpartition(PROJECT_SEPARATOR)
    return project if sep else ""


def execution(view: RunView) -> ExecutionResponse:
    pending = view.pending
    acceptance = clarification = None
    if pending is not None and pending.kind == "clarification":
        clarification = ClarificationPending(questions=pending.questions, deadline=pending.deadline)
    elif pending is not None:
        acceptance = AcceptancePending(
            kind=pending.kind,
            content=pending.content,
            revision=pending.revision,
            revisions_left=pending.revisions_left,
            deadline=pending.deadline,
        )
    return ExecutionResponse(
        execution_id=view.run_id,
        workflow_id=RESEARCH,
        project_id=project_of(view.run_id),
        status=status_of(view),
        current_step_id=None if view.stage == Stage.finished else view.stage.value,
        completed_steps=steps_of(view),
        pending_acceptance=acceptance,
        pending_clarification=clarification,
        started_at=view.created_at,
        completed_at=view.finished_at,
        error=view.error,
    )


def ws_events(event: RunEvent, previous: Stage | None) -> list[dict[str, Any]]:
    """Seed 004's `{event_type, step_id, timestamp, data}` messages for one of our events."""
    data = {"seq": event.seq, "message": event.message, **event.data}
    at = event.at.isoformat()
    step = event.stage.value if event.stage and event.stage != Stage.finished else None
    if event.type == "stage_changed":
        out = []
        if previous is not None and previous != Stage.finished:
            out.append({"event_type": "step_completed", "step_id": previous.value})
        if step is not None:
            out.append({"event_type": "step_started", "step_id": step})
        return [{**e, "timestamp": at, "data": data} for e in out]
    if event.type == "input_awaited":
        kind = event.data.get("kind", "")
        name = "waiting_clarification" if kind == "clarification" else "waiting_acceptance"
    elif event.type == "finished":
        name = f"execution_{STATUS[RunStatus(event.data['status'])]}"
    else:
        name = event.type
    return [{"event_type": name, "step_id": step, "timestamp": at, "data": data}]


# Our error codes by their seed-004 meaning: a refused input is an invalid state (400).
INVALID_STATE = {"wrong_stage", "nothing_pending", "run_finished", "conflict", "update_rejected"}


def seed_error(err: ApiError) -> ApiError:
    """Our error as seed 004 answers it: same body, its status mapping and upper-case codes."""
    if err.error_code.isupper():
        return err  # already the seed's own (WORKFLOW_NOT_FOUND, say)
    details = {**err.details, "cause": err.error_code}
    if err.status == 404:
        code = "EXECUTION_NOT_FOUND" if err.error_code == "run_not_found" else "NOT_FOUND"
        return ApiError(404, code, err.message, details)
    if err.status == 422:
        return ApiError(400, "VALIDATION_ERROR", err.message, details)
    if err.status == 409:
        if err.error_code in INVALID_STATE:
            return ApiError(400, "INVALID_STATE", err.message, details)
        return ApiError(409, "CONFLICT", err.message, details)
    if err.status in (502, 503, 504):
        return ApiError(503, "SERVICE_UNAVAILABLE", err.message, details, err.headers)
    if err.status >= 500:
        return ApiError(500, "INTERNAL_ERROR", err.message, details)
    return err  # 401, 403 and 429 pass as they are


class SeedErrorRoute(APIRoute):
    """A route whose errors (validation, ours, Temporal's) are answered in seed 004's mapping."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def translated(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                errors = {"errors": _json_safe_errors(exc)}
                raise ApiError(400, "VALIDATION_ERROR", "the request is not valid", errors) from exc
            except ApiError as err:
                raise seed_error(err) from err
            except TemporalError as err:
                raise seed_error(temporal_api_error(err)) from err

        return translated
