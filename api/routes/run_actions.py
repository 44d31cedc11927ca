"""Human input to a run: clarification answers, acceptance decisions, stop and cancel.

Answers and decisions are Temporal updates, so the caller learns at once whether the run took
them; stop is a signal (fire and forget) and cancel a cancellation request.
"""

from __future__ import annotations

from fastapi import APIRouter
from temporalio.client import WorkflowExecutionStatus

from api.auth import acting_as, decision_by
from api.deps import PrincipalDep, RunHandleDep, RunIdDep
from api.routes import API_PREFIX, error_responses, run_url
from api.schemas import ActionAccepted, ClarificationBody, DecisionBody, StopBody
from api.temporal import finished_error, temporal_calls
from api.updates import send_input
from domain.run import ClarificationAnswer, DecisionResult, StopRequest
from workflows.research import ResearchWorkflow

router = APIRouter(prefix=f"{API_PREFIX}/runs", tags=["runs"])


@router.post(
    "/{run_id}/clarification",
    response_model=DecisionResult,
    responses=error_responses(404, 409, 422, 503, 504, body=True),
)
async def answer_clarification(
    body: ClarificationBody, handle: RunHandleDep, principal: PrincipalDep
) -> DecisionResult:
    """Answer the run's clarifying questions (or skip them)."""
    answer = ClarificationAnswer.model_validate(
        body.model_dump() | {"answered_by": acting_as(principal, body.answered_by)}
    )
    return await send_input(
        handle,
        "run",
        ResearchWorkflow.answer_clarification,
        answer,
        kind="clarification",
        request_id=body.request_id,
    )


@router.post(
    "/{run_id}/acceptance",
    response_model=DecisionResult,
    responses=error_responses(404, 409, 422, 503, 504, body=True),
)
async def decide(
    body: DecisionBody, handle: RunHandleDep, principal: PrincipalDep
) -> DecisionResult:
    """Accept or reject the plan or report awaiting review."""
    return await send_input(
        handle,
        "run",
        ResearchWorkflow.decide,
        decision_by(body, principal),
        kind="acceptance",
        request_id=body.request_id,
    )


@router.post(
    "/{run_id}/stop",
    status_code=202,
    response_model=ActionAccepted,
    responses=error_responses(404, 409, 422, 503, body=True),
)
async def stop_run(
    run_id: RunIdDep, handle: RunHandleDep, principal: PrincipalDep, body: StopBody | None = None
) -> ActionAccepted:
    """Finish the run now with what it has (partial report)."""
    body = body or StopBody()
    request = StopRequest.model_validate(
        body.model_dump() | {"requested_by": acting_as(principal, body.requested_by)}
    )
    async with temporal_calls("run", handle):
        await handle.signal(ResearchWorkflow.stop, request)
    return ActionAccepted(run_id=run_id, action="stop", status_url=run_url(run_id))


@router.post(
    "/{run_id}/cancel",
    status_code=202,
    response_model=ActionAccepted,
    responses=error_responses(404, 409, 503),
)
async def cancel_run(run_id: RunIdDep, handle: RunHandleDep) -> ActionAccepted:
    """Abort the run; it ends `cancelled`."""
    async with temporal_calls("run", handle):
        # Temporal accepts a cancel request for a closed workflow silently; say so instead.
        desc = await handle.describe()
        if desc.status != WorkflowExecutionStatus.RUNNING:
            raise finished_error("run")
        await handle.cancel()
    return ActionAccepted(run_id=run_id, action="cancel", status_url=run_url(run_id))
