"""Seed 004: one execution's routes (status, resume, cancel, acceptance, clarification) and its
WebSocket, each a call of the main contract's own function for the same act.

`resume` has nothing of its own to do: a run never pauses but for a person, and the acceptance
or clarification that person sends resumes it. So resume answers the execution when it is
running (already resumed) and refuses (400 INVALID_STATE) when it waits or has ended.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, WebSocket
from pydantic import BaseModel, Field

from api.contracts.common import cancel, owned_run, with_pending_text
from api.contracts.executions import ExecutionResponse, SeedErrorRoute, execution, ws_events
from api.deps import ArtifactsDep, OwnersDep, PrincipalDep, SettingsDep, TemporalDep
from api.errors import ApiError
from api.event_feed import End, FeedItem
from api.routes import API_PREFIX, error_responses
from api.routes.events import serve_ws
from api.routes.run_actions import answer_clarification, decide
from api.schemas import ClarificationBody, DecisionBody
from api.views import RunHandle, resolve_run_view
from domain.run import RunEvent, Stage
from providers.artifacts import ArtifactStore
from settings import Settings

TAG = "seed 004: workflows and executions"
router = APIRouter(prefix=f"{API_PREFIX}/executions", tags=[TAG], route_class=SeedErrorRoute)
ws_router = APIRouter(prefix=f"{API_PREFIX}/ws/executions", tags=[TAG])
SEED_ERRORS = error_responses(400, 404, 409, 503)
SEED_BODY_ERRORS = error_responses(400, 404, 409, 503, body=True)


class AcceptanceRequest(BaseModel):
    accepted: bool
    comment: str | None = Field(default=None, max_length=4000)


class ClarificationRequest(BaseModel):
    answers: dict[str, str] = Field(min_length=1, description="question_id -> answer")


async def execution_handle(
    execution_id: str, client: TemporalDep, principal: PrincipalDep, owners: OwnersDep
) -> RunHandle:
    return await owned_run(execution_id, client, principal, owners)


HandleDep = Annotated[RunHandle, Depends(execution_handle)]


async def _current(
    handle: RunHandle, settings: Settings, artifacts: ArtifactStore
) -> ExecutionResponse:
    view, _ = await resolve_run_view(handle, settings)
    return execution(await with_pending_text(view, artifacts))


def invalid_state(message: str, status: str) -> ApiError:
    return ApiError(400, "INVALID_STATE", message, {"status": status})


@router.get("/{execution_id}", response_model=ExecutionResponse, responses=SEED_ERRORS)
async def get_execution(
    handle: HandleDep, settings: SettingsDep, artifacts: ArtifactsDep
) -> ExecutionResponse:
    """An execution's status, steps and pending input."""
    return await _current(handle, settings, artifacts)


# The seed's acceptance criteria check status at this path too ("GET /workflows/{id}/executions/
# {exec_id}"): the same answer, for an execution of that workflow only.
nested_router = APIRouter(prefix=f"{API_PREFIX}/workflows", tags=[TAG], route_class=SeedErrorRoute)


@nested_router.get(
    "/{workflow_id}/executions/{execution_id}",
    response_model=ExecutionResponse,
    responses=SEED_ERRORS,
)
async def get_workflow_execution(
    workflow_id: str, handle: HandleDep, settings: SettingsDep, artifacts: ArtifactsDep
) -> ExecutionResponse:
    """An execution's status, as `GET /executions/{id}`, under the workflow it runs."""
    current = await _current(handle, settings, artifacts)
    if current.workflow_id != workflow_id:
        raise ApiError(
            404,
            "EXECUTION_NOT_FOUND",
            "no such execution of this workflow",
            {"workflow_id": workflow_id, "execution_id": current.execution_id},
        )
    return current


@router.post("/{execution_id}/resume", response_model=ExecutionResponse, responses=SEED_ERRORS)
async def resume_execution(
    handle: HandleDep, settings: SettingsDep, artifacts: ArtifactsDep
) -> ExecutionResponse:
    """Resume a paused execution: it runs on as soon as its acceptance or clarification came."""
    current = await _current(handle, settings, artifacts)
    if current.status.startswith("waiting_"):
        route = current.status.removeprefix("waiting_")
        raise invalid_state(f"the execution waits for input: POST .../{route}", current.status)
    if current.status not in ("pending", "running"):
        raise invalid_state("the execution has ended", current.status)
    return current


@router.post("/{execution_id}/cancel", response_model=ExecutionResponse, responses=SEED_ERRORS)
async def cancel_execution(
    execution_id: str, handle: HandleDep, settings: SettingsDep, artifacts: ArtifactsDep
) -> ExecutionResponse:
    """Cancel an execution (400 INVALID_STATE once it has ended)."""
    await cancel(execution_id, handle, settings)
    current = await _current(handle, settings, artifacts)
    # The cancel was accepted and the run ends `cancelled`; its view may not say so quite yet.
    return current.model_copy(update={"status": "cancelled", "current_step_id": None})


@router.post(
    "/{execution_id}/acceptance", response_model=ExecutionResponse, responses=SEED_BODY_ERRORS
)
async def submit_acceptance(
    body: AcceptanceRequest,
    handle: HandleDep,
    settings: SettingsDep,
    artifacts: ArtifactsDep,
    principal: PrincipalDep,
) -> ExecutionResponse:
    """Accept, or reject with a comment, the plan or report awaiting acceptance."""
    decision = DecisionBody(accepted=body.accepted, comment=body.comment or "")
    await decide(decision, handle, principal)
    return await _current(handle, settings, artifacts)


@router.post(
    "/{execution_id}/clarification", response_model=ExecutionResponse, responses=SEED_BODY_ERRORS
)
async def submit_clarification(
    body: ClarificationRequest,
    handle: HandleDep,
    settings: SettingsDep,
    artifacts: ArtifactsDep,
    principal: PrincipalDep,
) -> ExecutionResponse:
    """Answer the clarifying questions, keyed by question id."""
    await answer_clarification(ClarificationBody(answers=body.answers), handle, principal)
    return await _current(handle, settings, artifacts)


@ws_router.websocket("/{execution_id}")
async def execution_events(
    websocket: WebSocket,
    execution_id: str,
    after: Annotated[int, Query(ge=0, description="Send events after this seq")] = 0,
) -> None:
    """`{event_type, step_id, timestamp, data}` messages; closes (1000) after the last one."""
    # The step in progress, for its step_completed: every event carries the stage it was in,
    # and a stage_changed event already the new one.
    stage: list[Stage | None] = [None]

    async def send(ws: WebSocket, item: FeedItem) -> None:
        if isinstance(item, RunEvent):
            for message in ws_events(item, stage[0]):
                await ws.send_json(message)
            stage[0] = item.stage
        elif isinstance(item, End):
            # Closed without a `finished` event (terminated, or a client too slow to keep up).
            data: dict[str, Any] = {**asdict(item)}
            await ws.send_json(
                {"event_type": "stream_end", "step_id": None, "timestamp": None, "data": data}
            )

    await serve_ws(websocket, execution_id, after, send)
