"""Stand-alone approvals: one human accept/reject on a piece of content, with a deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from fastapi import APIRouter, Response
from pydantic import ValidationError
from temporalio.client import WorkflowExecutionStatus
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy

from api.auth import acting_as, decision_by
from api.deps import (
    ApprovalHandleDep,
    ApprovalIdDep,
    OwnersDep,
    PrincipalDep,
    SettingsDep,
    TemporalDep,
)
from api.errors import ApiError
from api.limits import check_active_runs, max_pending_approvals
from api.routes import API_PREFIX, approval_url, error_responses
from api.runs_service import approval_workflow_id_for, owns_unscoped
from api.schemas import ApprovalCreated, CreateApprovalRequest, DecisionBody
from api.temporal import query_or_none, temporal_calls, workflow_type
from api.updates import send_input
from domain.run import ApprovalInput, ApprovalView, DecisionResult
from workflows.approval import ApprovalWorkflow
from workflows.search_attributes import MEMO_STATUS_KEY, RESEARCH_OWNER

router = APIRouter(prefix=f"{API_PREFIX}/approvals", tags=["approvals"])

SUMMARY_CHARS = 200


@router.post(
    "",
    status_code=202,
    response_model=ApprovalCreated,
    responses=error_responses(409, 422, 503, body=True),
)
async def create_approval(
    body: CreateApprovalRequest,
    client: TemporalDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    owners: OwnersDep,
    response: Response,
) -> ApprovalCreated:
    """Ask a person to accept or reject something."""
    # Set at start and never changed: the owner every later request on this approval must match.
    owner = acting_as(principal, body.requested_by)
    if (cap := max_pending_approvals(settings)) is not None:
        await check_active_runs(
            client,
            workflow_type(ApprovalWorkflow),
            principal.owner if principal else None,
            cap,
            kind="approvals",
        )
    approval_id = body.approval_id or uuid4().hex
    if principal and body.approval_id:
        # This owner's approval from before ids were scoped (api/runs_service.py): a duplicate.
        legacy_id = approval_workflow_id_for(approval_id, None)
        if await owns_unscoped(client, legacy_id, principal, owners, "approval"):
            raise ApiError(409, "approval_exists", "a approval with this id already exists")
    # Scoped by owner with keys on, so another owner's approval of this id is no 409 here.
    workflow_id = approval_workflow_id_for(approval_id, principal.owner if principal else None)
    inp = ApprovalInput(
        approval_id=approval_id,
        title=body.title,
        content=body.content,
        artifact_ref=body.artifact_ref,
        timeout=body.timeout,
        requested_by=owner,
    )
    now = datetime.now(UTC)
    # The memo answers GET while no worker polls; the workflow decides within moments of a
    # decision, after which the result is read instead, so "pending" here stays true.
    initial = ApprovalView(
        approval_id=approval_id,
        title=body.title,
        status="pending",
        content=body.content,
        artifact_ref=body.artifact_ref,
        created_at=now,
        deadline=now + body.timeout,
    )
    async with temporal_calls("approval"):
        await client.start_workflow(
            ApprovalWorkflow.run,
            inp,
            id=workflow_id,
            task_queue=settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary=" ".join(body.title.split())[:SUMMARY_CHARS],
            memo={MEMO_STATUS_KEY: initial.model_dump(mode="json")},
            search_attributes=TypedSearchAttributes([SearchAttributePair(RESEARCH_OWNER, owner)]),
        )
    response.headers["Location"] = approval_url(approval_id)
    return ApprovalCreated(
        approval_id=approval_id,
        workflow_id=workflow_id,
        status_url=approval_url(approval_id),
        decision_url=approval_url(approval_id, "/decision"),
    )


@router.get("/{approval_id}", response_model=ApprovalView, responses=error_responses(404, 503))
async def get_approval(
    approval_id: ApprovalIdDep, handle: ApprovalHandleDep, settings: SettingsDep
) -> ApprovalView:
    """An approval's state and, once taken, its decision."""
    timeout = timedelta(seconds=settings.api_query_timeout_s)
    async with temporal_calls("approval"):
        desc = await handle.describe(rpc_timeout=timeout)
        if desc.status == WorkflowExecutionStatus.COMPLETED:
            # Final and cheap: read from the close event, no worker needed.
            return await handle.result(rpc_timeout=timeout)
        view = await query_or_none(
            handle.query(ApprovalWorkflow.get_status, rpc_timeout=timeout),
            settings.api_query_timeout_s,
        )
        if view is None:
            raw = await desc.memo_value(MEMO_STATUS_KEY, None)
            try:
                view = ApprovalView.model_validate(raw) if raw is not None else None
            except ValidationError:
                view = None
    if view is None:
        raise ApiError(
            503,
            "worker_unavailable",
            "no worker answered and the approval has no status memo; try again",
            {"approval_id": approval_id},
        )
    if desc.status != WorkflowExecutionStatus.RUNNING and view.status == "pending":
        # Closed other than by its own return (cancelled, terminated): it was called off.
        view = view.model_copy(update={"status": "cancelled"})
    return view


@router.post(
    "/{approval_id}/decision",
    response_model=DecisionResult,
    responses=error_responses(404, 409, 422, 503, 504, body=True),
)
async def decide_approval(
    body: DecisionBody, handle: ApprovalHandleDep, principal: PrincipalDep
) -> DecisionResult:
    """Accept or reject the approval."""
    return await send_input(
        handle,
        "approval",
        ApprovalWorkflow.decide,
        decision_by(body, principal),
        kind="decision",
        request_id=body.request_id,
    )
