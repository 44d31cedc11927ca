"""Research runs: start, list, status."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated
from uuid import uuid4

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from temporalio.client import Client

from api.auth import Principal
from api.claims_json import pending_claims_html
from api.deps import (
    ArtifactsDep,
    OwnersDep,
    PrincipalDep,
    RunHandleDep,
    SettingsDep,
    TemporalDep,
)
from api.errors import ApiError
from api.limits import check_active_runs, max_active_runs
from api.markdown_html import fragment_html
from api.owners import OwnerCache
from api.routes import API_PREFIX, error_responses, run_url
from api.runs_service import owns_unscoped_run, start_research_run
from api.schemas import CreateRunRequest, RunCreated, RunList
from api.seed_runs import run_options
from api.temporal import temporal_calls, workflow_type
from api.views import resolve_run_view, run_summary
from api.visibility import (
    decode_page_token,
    encode_page_token,
    invalid_page_token,
    page_token_key,
    runs_query,
)
from domain.options import FollowUpSeed
from domain.run import RunStatus, RunView, Stage
from settings import Settings
from workflows.research import ResearchWorkflow

router = APIRouter(prefix=f"{API_PREFIX}/runs", tags=["runs"])

STATUS_SOURCE_HEADER = "X-Status-Source"


@router.post(
    "",
    status_code=202,
    response_model=RunCreated,
    responses=error_responses(409, 422, 429, 503, body=True),
    tags=["seed-002"],  # besides "runs": seed 002 triggers here too (docs/contracts.md)
)
async def create_run(
    body: CreateRunRequest,
    client: TemporalDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    owners: OwnersDep,
    response: Response,
) -> RunCreated:
    """Start a research run (seed 002's fields included: docs/contracts.md)."""
    return await launch_run(body, client, settings, principal, owners, response)


async def launch_run(
    body: CreateRunRequest,
    client: Client,
    settings: Settings,
    principal: Principal | None,
    owners: OwnerCache,
    response: Response,
    follow_up: FollowUpSeed | None = None,
) -> RunCreated:
    """Start the run `body` asks for (a follow-up of a run when `follow_up` is given)."""
    options = run_options(body, settings)
    # With auth on, the key's owner owns the run whatever the body claims: it becomes the
    # ResearchOwner search attribute that every later request is checked against.
    owner = principal.owner if principal else body.created_by
    if (cap := max_active_runs(settings)) is not None:
        await check_active_runs(
            client, workflow_type(ResearchWorkflow), principal.owner if principal else None, cap
        )
    run_id = body.run_id or uuid4().hex
    if principal and body.run_id and await owns_unscoped_run(client, run_id, principal, owners):
        # This owner's run from before ids were scoped (api/runs_service.py): still a duplicate.
        raise ApiError(409, "run_exists", "a run with this id already exists")
    async with temporal_calls("run"):
        workflow_id = await start_research_run(
            client,
            settings,
            run_id=run_id,
            question=body.question,
            options=options,
            owner=owner,
            owner_scoped=principal is not None,
            follow_up=follow_up,
        )
    response.headers["Location"] = run_url(run_id)
    return RunCreated(
        run_id=run_id,
        workflow_id=workflow_id,
        status=RunStatus.queued,
        status_url=run_url(run_id, "/status"),
        run_url=run_url(run_id),
        events_url=run_url(run_id, "/events"),
        report_url=run_url(run_id, "/report"),
        sources_url=run_url(run_id, "/sources"),
        output_url=run_url(run_id, "/output"),
        context_url=run_url(run_id, "/context"),
    )


@router.get("", response_model=RunList, responses=error_responses(422, 503))
async def list_runs(
    client: TemporalDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    status: RunStatus | None = None,
    stage: Stage | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
    page_token: str | None = None,
) -> RunList:
    """List runs from Temporal visibility, one page at a time (with auth on: your own)."""
    query = runs_query(
        workflow_type(ResearchWorkflow),
        # Filtered by the server, so pages and tokens hold only the caller's runs.
        owner=principal.owner if principal else None,
        status=status,
        stage=stage,
        created_after=created_after,
        created_before=created_before,
    )
    key = page_token_key(settings)
    pages = client.list_workflows(
        query, page_size=page_size, next_page_token=decode_page_token(page_token, key)
    )
    try:
        async with temporal_calls("run"):
            await pages.fetch_next_page()
    except ApiError as err:
        # A token with a valid check but a made-up body: Temporal cannot read it and says only
        # "something went wrong" (retried, then a 502); the client sent it, so it is a 422.
        if page_token and err.error_code == "temporal_error":
            raise invalid_page_token(err.message) from err
        raise
    runs = [await run_summary(execution) for execution in pages.current_page or []]
    return RunList(runs=runs, next_page_token=encode_page_token(pages.next_page_token, key))


@router.get("/{run_id}", response_model=RunView, responses=error_responses(404, 503, 504))
async def get_run(
    handle: RunHandleDep,
    settings: SettingsDep,
    artifacts: ArtifactsDep,
    pending_html: bool = False,
) -> Response:
    """A run's status, stage, pending input, progress and usage.

    With `pending_html=true`, a pending plan or report also carries `content_html`: its
    Markdown `content` as sanitised HTML, citations as `<button class="cite" data-cite="n">`
    (what the run page shows; absent otherwise, so other clients see the same JSON as before).
    A report under review that was written as claims is shown as its claims instead.
    """
    view, source = await resolve_run_view(handle, settings)
    pending = view.pending
    if pending and pending.content is None and pending.artifact_ref:
        # The workflow holds only the reference (payload limits); a reviewer needs the text.
        try:
            text = await asyncio.to_thread(artifacts.read_text, pending.artifact_ref)
        except FileNotFoundError:
            text = None
        view.pending = pending.model_copy(update={"content": text})
    # Whether this came live from the workflow or from the memo, for clients and operators.
    headers = {STATUS_SOURCE_HEADER: source}
    if pending_html and view.pending is not None:
        body = view.model_dump(mode="json", by_alias=True)
        content = view.pending.content
        claims_html = await pending_claims_html(artifacts, view)
        body["pending"]["content_html"] = claims_html or (
            fragment_html(content) if content else None
        )
        return JSONResponse(body, headers=headers)
    # The view was validated when it was decoded; serialised once here rather than validated
    # again against response_model (the busiest route: status p95 is a benchmark target).
    return Response(
        view.model_dump_json(by_alias=True), media_type="application/json", headers=headers
    )
