"""Operations and discovery: the flows this service runs, liveness, readiness, metrics."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import get_args

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from temporalio.api.enums.v1 import TaskQueueKind, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest, GetSystemInfoRequest
from temporalio.client import Client
from temporalio.service import RPCError

from api.auth import KeyRing, presented_key
from api.deps import SettingsDep, TemporalDep
from api.errors import ApiError
from api.metrics import refresh_run_counts
from api.routes import API_PREFIX, error_responses
from api.schemas import FlowInfo, FlowInput, FlowList, Health, Ready
from api.temporal import TemporalConnector, temporal_calls, workflow_type
from domain.run import ApprovalView, RunStatus, Stage
from settings import Settings
from workflows.approval import ApprovalWorkflow
from workflows.research import ResearchWorkflow

log = logging.getLogger(__name__)

router = APIRouter(prefix=API_PREFIX, tags=["meta"])

READY_TIMEOUT = timedelta(seconds=3)
RUNS = f"{API_PREFIX}/runs"
APPROVALS = f"{API_PREFIX}/approvals"


@router.get("/workflows", response_model=FlowList, responses=error_responses())
async def list_flows(settings: SettingsDep) -> FlowList:
    """The flows this service runs, with their stages and the input they take."""
    research = FlowInfo(
        name="research",
        workflow_type=workflow_type(ResearchWorkflow),
        task_queue=settings.task_queue,
        start=f"POST {RUNS}",
        statuses=[s.value for s in RunStatus],
        stages=[s.value for s in Stage],
        inputs=[
            FlowInput(
                name="clarification",
                kind="update",
                endpoint=f"POST {RUNS}/{{run_id}}/clarification",
            ),
            FlowInput(
                name="acceptance", kind="update", endpoint=f"POST {RUNS}/{{run_id}}/acceptance"
            ),
            FlowInput(name="stop", kind="signal", endpoint=f"POST {RUNS}/{{run_id}}/stop"),
            FlowInput(name="cancel", kind="cancel", endpoint=f"POST {RUNS}/{{run_id}}/cancel"),
        ],
    )
    approval = FlowInfo(
        name="approval",
        workflow_type=workflow_type(ApprovalWorkflow),
        task_queue=settings.task_queue,
        start=f"POST {APPROVALS}",
        statuses=list(get_args(ApprovalView.model_fields["status"].annotation)),
        stages=[],  # one human wait, no stages
        inputs=[
            FlowInput(
                name="decision",
                kind="update",
                endpoint=f"POST {APPROVALS}/{{approval_id}}/decision",
            ),
        ],
    )
    return FlowList(flows=[research, approval])


@router.get("/health", response_model=Health)
async def health() -> Health:
    """The process is up (says nothing about Temporal)."""
    return Health()


@router.get("/ready", response_model=Ready, responses=error_responses(503, guarded=False))
async def ready(client: TemporalDep, settings: SettingsDep, request: Request) -> Ready:
    """Temporal is reachable; with a key (or auth off), also where it is, its version, and
    whether a worker polls the task queue."""
    async with temporal_calls():
        info = await client.workflow_service.get_system_info(
            GetSystemInfoRequest(), timeout=READY_TIMEOUT
        )
    if settings.auth_enabled and not _has_valid_key(request, settings):
        return Ready()  # open to probes, which need only the status code
    return Ready(
        temporal_address=settings.temporal_address,
        namespace=client.namespace,
        server_version=info.server_version or None,
        task_queue=settings.task_queue,
        worker_polling=await _worker_polling(client, settings.task_queue),
    )


def _has_valid_key(request: Request, settings: Settings) -> bool:
    # /ready is open (the guard asks no key), so the key is looked at here, if one was sent.
    key = presented_key(request.scope)
    return key is not None and KeyRing(settings.api_key_owners).principal(key) is not None


async def _worker_polling(client: Client, task_queue: str) -> bool | None:
    # Informational only: the API is ready without a worker (runs queue until one polls).
    try:
        resp = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=client.namespace,
                task_queue=TaskQueue(name=task_queue, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            ),
            timeout=READY_TIMEOUT,
        )
    except RPCError as err:
        log.info("describe_task_queue failed: %s", err)
        return None
    return bool(resp.pollers)


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def metrics(request: Request) -> Response:
    """Prometheus metrics: requests by route and status, latency, SSE streams, runs by status."""
    connector: TemporalConnector = request.app.state.temporal
    try:
        client = await connector.get()
    except ApiError:
        client = None  # Temporal down: still serve the HTTP metrics, which say so in 503s.
    if client is not None:
        await refresh_run_counts(client, workflow_type(ResearchWorkflow))
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
