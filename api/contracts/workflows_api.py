"""Seed 004: the workflow-execution API, translated onto the main contract.

An execution is a research run; its id is `<project_id>--<random hex>`, so the project it was
started for is known from the id alone (the run's input has no place for it). The registry's
list is the main contract's GET /api/v1/workflows (its `name` is the seed's `workflow_id`).
Errors keep our body, in the seed's mapping (api/contracts/executions.py).
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import uuid4

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, StringConstraints, ValidationError

from api.contracts.common import owned_run, start_run
from api.contracts.executions import (
    PROJECT_SEPARATOR,
    RESEARCH,
    STEPS,
    ExecutionResponse,
    SeedErrorRoute,
    execution,
)
from api.deps import OwnersDep, PrincipalDep, SettingsDep, TemporalDep
from api.errors import ApiError
from api.routes import API_PREFIX, error_responses, meta
from api.routes.runs import list_runs
from api.schemas import FlowInfo, Question, RunOptionsBody, RunSummary
from api.views import resolve_run_view
from domain.run import RunStatus, RunView, Stage
from settings import Settings

TAG = "seed 004: workflows and executions"
router = APIRouter(prefix=API_PREFIX, tags=[TAG], route_class=SeedErrorRoute)

ProjectId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")]
SEED_ERRORS = error_responses(400, 404, 409, 503)
SEED_BODY_ERRORS = error_responses(400, 404, 409, 503, body=True)


class WorkflowStep(BaseModel):
    step_id: str
    waits_for: str | None = Field(description="acceptance or clarification, if a person acts")


class WorkflowDefinition(FlowInfo):
    workflow_id: str
    steps: list[WorkflowStep]


class StartWorkflowRequest(BaseModel):
    project_id: ProjectId
    initial_context: dict[str, Any] | None = Field(
        default=None, description="`question` (required) and optional run `options`"
    )


class StartContext(BaseModel):
    question: Question
    options: RunOptionsBody = Field(default_factory=RunOptionsBody)


class ExecutionList(BaseModel):
    executions: list[ExecutionResponse]
    next_page_token: str | None


async def _definition(workflow_id: str, settings: Settings) -> FlowInfo:
    flows = {flow.name: flow for flow in (await meta.list_flows(settings)).flows}
    if workflow_id not in flows:
        raise ApiError(404, "WORKFLOW_NOT_FOUND", "no such workflow", {"workflow_id": workflow_id})
    return flows[workflow_id]


@router.get("/workflows/{workflow_id}", response_model=WorkflowDefinition, responses=SEED_ERRORS)
async def get_workflow(workflow_id: str, settings: SettingsDep) -> WorkflowDefinition:
    """A workflow's definition with its steps."""
    flow = await _definition(workflow_id, settings)
    waits = {Stage.clarifying: "clarification", Stage.plan_review: "acceptance"}
    waits[Stage.report_review] = "acceptance"
    steps = [WorkflowStep(step_id=s.value, waits_for=waits.get(s)) for s in STEPS]
    if workflow_id != RESEARCH:
        steps = [WorkflowStep(step_id="decision", waits_for="acceptance")]
    return WorkflowDefinition(**flow.model_dump(), workflow_id=workflow_id, steps=steps)


@router.post(
    "/workflows/{workflow_id}/start",
    status_code=201,
    response_model=ExecutionResponse,
    responses=SEED_BODY_ERRORS,
)
async def start_workflow(
    workflow_id: str,
    body: StartWorkflowRequest,
    client: TemporalDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    owners: OwnersDep,
) -> ExecutionResponse:
    """Start a new execution: `initial_context.question` is the research question."""
    await _definition(workflow_id, settings)
    if workflow_id != RESEARCH:
        raise ApiError(
            400,
            "WORKFLOW_NOT_STARTABLE",
            "approvals start from POST /api/v1/approvals, with what is to be approved",
        )
    try:
        context = StartContext.model_validate(body.initial_context or {})
    except ValidationError as err:
        details = {"errors": err.errors(include_url=False, include_input=False)}
        raise ApiError(400, "VALIDATION_ERROR", "initial_context is not valid", details) from err
    run_id = f"{body.project_id}{PROJECT_SEPARATOR}{uuid4().hex[:16]}"
    options = context.options
    await start_run(client, settings, principal, context.question, options, run_id=run_id)
    view, _ = await resolve_run_view(await owned_run(run_id, client, principal, owners), settings)
    return execution(view)


def _listed(run: RunSummary) -> ExecutionResponse:
    """An execution from visibility alone (no query): no pending input, default options."""
    assert run.status is not None and run.stage is not None
    view = RunView(
        run_id=run.run_id,
        question=run.question or "",
        status=run.status,
        stage=run.stage,
        created_at=run.started_at,
        updated_at=run.closed_at or run.started_at,
        finished_at=run.closed_at,
    )
    listed = execution(view)
    if run.status == RunStatus.awaiting_input and run.stage == Stage.clarifying:
        listed.status = "waiting_clarification"
    return listed


@router.get("/executions", response_model=ExecutionList, responses=SEED_ERRORS)
async def list_executions(
    client: TemporalDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    status: str | None = None,
    workflow_id: str | None = None,
    project_id: str | None = None,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
    page_token: str | None = None,
) -> ExecutionList:
    """List executions, newest first; filters apply to each page of runs."""
    runs = await list_runs(
        client, settings, principal, None, None, None, None, page_size, page_token
    )
    found = [_listed(run) for run in runs.runs if run.status and run.stage]
    kept = [
        e
        for e in found
        if (status is None or e.status == status)
        and (workflow_id is None or e.workflow_id == workflow_id)
        and (project_id is None or e.project_id == project_id)
    ]
    return ExecutionList(executions=kept, next_page_token=runs.next_page_token)
