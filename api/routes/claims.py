"""A reviewer's requests on one claim of the report waiting for review: strike it out, or ask
the run to find a source for it (issue 12, item 5).

Both are Temporal updates of the research workflow (`strike_claim`, `find_source`), sent like
`decide`: exactly once by `request_id` (the workflow records it and answers a repeat with the
first result), the caller recorded as the key's owner when keys are on, and the workflow's
refusals mapped to statuses by api/errors.py (404 `unknown_claim`, 409 for the others).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from api.auth import acting_as
from api.deps import PrincipalDep, RunHandleDep
from api.errors import ApiError
from api.report_schemas import FindSourceBody, StrikeBody
from api.routes import API_PREFIX, error_responses
from api.updates import send_input
from domain.report import FindSource, StrikeClaim
from domain.run import DecisionResult
from workflows.research import ResearchWorkflow

router = APIRouter(prefix=f"{API_PREFIX}/runs", tags=["runs"])

# What domain.report.StrikeClaim / FindSource accept as a claim id.
MAX_CLAIM_ID = 200


def valid_claim_id(claim_id: Annotated[str, Path(description="The claim's id")]) -> str:
    # An id no claim can have is simply not one of the report's: the workflow's own answer.
    if not claim_id or len(claim_id) > MAX_CLAIM_ID:
        raise ApiError(404, "unknown_claim", "the report has no such claim")
    return claim_id


ClaimId = Annotated[str, Depends(valid_claim_id)]


@router.post(
    "/{run_id}/claims/{claim_id}/strike",
    response_model=DecisionResult,
    responses=error_responses(404, 409, 422, 503, 504, body=True),
)
async def strike_claim(
    claim_id: ClaimId,
    handle: RunHandleDep,
    principal: PrincipalDep,
    body: StrikeBody | None = None,
) -> DecisionResult:
    """Take one claim out of the report under review (kept in its JSON as `struck`)."""
    body = body or StrikeBody()
    request = StrikeClaim(
        claim_id=claim_id,
        reason=body.reason,
        struck_by=acting_as(principal, body.struck_by),
        request_id=body.request_id,
    )
    return await send_input(
        handle,
        "run",
        ResearchWorkflow.strike_claim,
        request,
        kind="strike",
        request_id=body.request_id,
    )


@router.post(
    "/{run_id}/claims/{claim_id}/find-source",
    response_model=DecisionResult,
    responses=error_responses(404, 409, 422, 503, 504, body=True),
)
async def find_source(
    claim_id: ClaimId,
    handle: RunHandleDep,
    principal: PrincipalDep,
    body: FindSourceBody | None = None,
) -> DecisionResult:
    """Send the report back for one round of research for this claim, then a re-check."""
    body = body or FindSourceBody()
    request = FindSource(
        claim_id=claim_id,
        requested_by=acting_as(principal, body.requested_by),
        request_id=body.request_id,
    )
    return await send_input(
        handle,
        "run",
        ResearchWorkflow.find_source,
        request,
        kind="find-source",
        request_id=body.request_id,
    )
