"""Follow-up questions on a finished run: start one, list a run's follow-ups.

A follow-up is a new run (its own id, options, reviews and report) seeded with the sources and
report of the run it follows (workflows/follow_up.py). The link is stored in the new run only:
its view says `follow_up_of`, and its FollowUpOf search attribute lets the followed run's
follow-ups be found by a visibility query, scoped by owner like GET /runs. Nothing is written
to the followed run, which is closed and stays as it was.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import Field

from api.deps import (
    OwnersDep,
    PrincipalDep,
    RunHandleDep,
    RunIdDep,
    SettingsDep,
    TemporalDep,
)
from api.errors import ApiError
from api.routes import API_PREFIX, error_responses
from api.routes.runs import launch_run
from api.schemas import (
    ClientId,
    CreateRunRequest,
    Forbid,
    Identity,
    Question,
    RunCreated,
    RunList,
    RunOptionsBody,
)
from api.temporal import temporal_calls, workflow_type
from api.views import resolve_run_view, run_summary
from api.visibility import decode_page_token, encode_page_token, page_token_key, runs_query
from domain.options import FollowUpSeed
from domain.run import TERMINAL_STATUSES, RunView
from workflows.research import ResearchWorkflow
from workflows.search_attributes import artifact_folder

router = APIRouter(prefix=f"{API_PREFIX}/runs", tags=["runs"])


class FollowUpRequest(Forbid):
    question: Question
    run_id: ClientId | None = Field(default=None, description="Defaults to a random hex id")
    options: RunOptionsBody = Field(default_factory=RunOptionsBody)
    created_by: Identity = "anonymous"


def follow_up_seed(view: RunView, workflow_id: str) -> FollowUpSeed:
    """The seed of a follow-up of `view`'s run, or 409 while it has no finished report."""
    if view.status not in TERMINAL_STATUSES or not view.report_ref or not view.sources_ref:
        raise ApiError(
            409,
            "run_not_finished",
            "only a finished run with a report can be followed up",
            {"status": view.status.value},
        )
    return FollowUpSeed(
        run_id=view.run_id,
        folder=artifact_folder(workflow_id),
        sources_ref=view.sources_ref,
        report_ref=view.report_ref,
        report_json_ref=view.report_json_ref or "",
    )


@router.post(
    "/{run_id}/followups",
    status_code=202,
    response_model=RunCreated,
    responses=error_responses(404, 409, 422, 429, 503, 504, body=True),
)
async def create_follow_up(
    body: FollowUpRequest,
    handle: RunHandleDep,
    client: TemporalDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    owners: OwnersDep,
    response: Response,
) -> RunCreated:
    """Ask a follow-up question: a new run seeded with this finished run's sources and report."""
    view, _ = await resolve_run_view(handle, settings)
    seed = follow_up_seed(view, handle.id)
    run = CreateRunRequest(
        question=body.question,
        run_id=body.run_id,
        options=body.options,
        created_by=body.created_by,
    )
    return await launch_run(run, client, settings, principal, owners, response, follow_up=seed)


@router.get(
    "/{run_id}/followups", response_model=RunList, responses=error_responses(404, 422, 503, 504)
)
async def list_follow_ups(
    run_id: RunIdDep,
    handle: RunHandleDep,
    client: TemporalDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
    page_token: str | None = None,
) -> RunList:
    """The follow-ups of a run (yours, with keys on), newest first, from Temporal visibility."""
    del handle  # resolved for its 404: another owner's run has no follow-ups to show
    query = runs_query(
        workflow_type(ResearchWorkflow),
        owner=principal.owner if principal else None,
        follow_up_of=run_id,
    )
    key = page_token_key(settings)
    pages = client.list_workflows(
        query, page_size=page_size, next_page_token=decode_page_token(page_token, key)
    )
    async with temporal_calls("run"):
        await pages.fetch_next_page()
    runs = [await run_summary(execution) for execution in pages.current_page or []]
    return RunList(runs=runs, next_page_token=encode_page_token(pages.next_page_token, key))
