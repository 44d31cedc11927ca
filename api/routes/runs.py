"""Research runs: start, list, status."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from typing import Annotated
from uuid import uuid4

from fastapi import APIRouter, Query, Response
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy

from api.deps import ArtifactsDep, PrincipalDep, RunHandleDep, SettingsDep, TemporalDep
from api.errors import ApiError
from api.limits import check_active_runs
from api.routes import API_PREFIX, error_responses, run_url
from api.schemas import CreateRunRequest, RunCreated, RunList
from api.temporal import temporal_calls, workflow_type
from api.views import resolve_run_view, run_summary
from api.visibility import (
    decode_page_token,
    encode_page_token,
    invalid_page_token,
    runs_query,
)
from domain.run import RunOptions, RunStatus, RunView, Stage
from domain.state import ResearchInput
from workflows.research import ResearchWorkflow
from workflows.search_attributes import (
    MEMO_STATUS_KEY,
    RESEARCH_OWNER,
    RESEARCH_STAGE,
    RESEARCH_STATUS,
    TOKENS_USED,
    research_workflow_id,
)

router = APIRouter(prefix=f"{API_PREFIX}/runs", tags=["runs"])

SUMMARY_CHARS = 200
STATUS_SOURCE_HEADER = "X-Status-Source"


def summary_line(question: str) -> str:
    # The Web UI shows the static summary on one line.
    line = re.sub(r"\s+", " ", question).strip()
    return line if len(line) <= SUMMARY_CHARS else line[: SUMMARY_CHARS - 1] + "…"


@router.post(
    "",
    status_code=202,
    response_model=RunCreated,
    responses=error_responses(409, 422, 429, 503, body=True),
)
async def create_run(
    body: CreateRunRequest,
    client: TemporalDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    response: Response,
) -> RunCreated:
    """Start a research run."""
    # With auth on, the key's owner owns the run whatever the body claims: it becomes the
    # ResearchOwner search attribute that every later request is checked against.
    owner = principal.owner if principal else body.created_by
    if settings.api_max_active_runs is not None:
        await check_active_runs(
            client,
            workflow_type(ResearchWorkflow),
            principal.owner if principal else None,
            settings.api_max_active_runs,
        )
    run_id = body.run_id or uuid4().hex
    workflow_id = research_workflow_id(run_id)
    options = RunOptions.model_validate(body.options.model_dump())
    now = datetime.now(UTC)
    # The memo answers GET /runs/{id} before a worker has picked the run up.
    initial = RunView(
        run_id=run_id,
        question=body.question,
        status=RunStatus.queued,
        stage=Stage.clarifying,
        created_at=now,
        updated_at=now,
        options=options,
    )
    async with temporal_calls("run"):
        await client.start_workflow(
            ResearchWorkflow.run,
            ResearchInput(run_id=run_id, question=body.question, options=options, created_by=owner),
            id=workflow_id,
            task_queue=settings.task_queue,
            # Run ids are never reused, even after the run closed: URLs and artifacts stay unique.
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary=summary_line(body.question),
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(RESEARCH_STATUS, RunStatus.queued.value),
                    SearchAttributePair(RESEARCH_STAGE, Stage.clarifying.value),
                    SearchAttributePair(RESEARCH_OWNER, owner),
                    SearchAttributePair(TOKENS_USED, 0),
                ]
            ),
            memo={MEMO_STATUS_KEY: initial.model_dump(mode="json")},
        )
    response.headers["Location"] = run_url(run_id)
    return RunCreated(
        run_id=run_id,
        workflow_id=workflow_id,
        status=RunStatus.queued,
        status_url=run_url(run_id),
        events_url=run_url(run_id, "/events"),
        report_url=run_url(run_id, "/report"),
        sources_url=run_url(run_id, "/sources"),
    )


@router.get("", response_model=RunList, responses=error_responses(422, 503))
async def list_runs(
    client: TemporalDep,
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
    pages = client.list_workflows(
        query, page_size=page_size, next_page_token=decode_page_token(page_token)
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
    return RunList(runs=runs, next_page_token=encode_page_token(pages.next_page_token))


@router.get("/{run_id}", response_model=RunView, responses=error_responses(404, 503, 504))
async def get_run(handle: RunHandleDep, settings: SettingsDep, artifacts: ArtifactsDep) -> Response:
    """A run's status, stage, pending input, progress and usage."""
    view, source = await resolve_run_view(handle, settings)
    pending = view.pending
    if pending and pending.content is None and pending.artifact_ref:
        # The workflow holds only the reference (payload limits); a reviewer needs the text.
        try:
            text = await asyncio.to_thread(artifacts.read_text, pending.artifact_ref)
        except FileNotFoundError:
            text = None
        view.pending = pending.model_copy(update={"content": text})
    # The view was validated when it was decoded; serialised once here rather than validated
    # again against response_model (the busiest route: status p95 is a benchmark target).
    return Response(
        view.model_dump_json(by_alias=True),
        media_type="application/json",
        # Whether this came live from the workflow or from the memo, for clients and operators.
        headers={STATUS_SOURCE_HEADER: source},
    )
