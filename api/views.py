"""A run's status as the API reports it: the live query when a worker answers, else the memo,
always corrected by what Temporal itself knows about how the execution closed."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Literal, TypeVar

from pydantic import ValidationError
from temporalio.client import (
    WorkflowExecution,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowHandle,
)
from temporalio.common import QueryRejectCondition

from api.runs_service import run_id_of
from api.schemas import RunSummary
from api.temporal import query_or_none, temporal_calls
from domain.run import TERMINAL_STATUSES, RunStatus, RunView, Stage
from settings import Settings
from workflows.research import ResearchWorkflow
from workflows.search_attributes import (
    MEMO_STATUS_KEY,
    RESEARCH_STAGE,
    RESEARCH_STATUS,
)

log = logging.getLogger(__name__)

E = TypeVar("E", RunStatus, Stage)
StatusSource = Literal["query", "memo", "result", "describe"]
RunHandle = WorkflowHandle[ResearchWorkflow, RunView]

# How an execution closed outranks what its memo last said: a terminated or cancelled workflow
# never got to write its own final view.
CLOSED_AS: dict[WorkflowExecutionStatus, RunStatus] = {
    WorkflowExecutionStatus.CANCELED: RunStatus.cancelled,
    WorkflowExecutionStatus.TERMINATED: RunStatus.failed,
    WorkflowExecutionStatus.FAILED: RunStatus.failed,
    WorkflowExecutionStatus.TIMED_OUT: RunStatus.failed,
}


async def resolve_run_view(handle: RunHandle, settings: Settings) -> tuple[RunView, StatusSource]:
    """The freshest trustworthy view of a run, and where it came from."""
    timeout = timedelta(seconds=settings.api_query_timeout_s)
    async with temporal_calls("run"):
        # One round trip in the common case: the server refuses the query for a closed run
        # (whose last in-memory view may predate a cancel or terminate), and a query needs a
        # live worker; either way describe() and the memo answer instead.
        live = await query_or_none(
            handle.query(
                ResearchWorkflow.get_status,
                rpc_timeout=timeout,
                reject_condition=QueryRejectCondition.NOT_OPEN,
            ),
            settings.api_query_timeout_s,
        )
        if live is not None:
            return live, "query"
        desc = await handle.describe(rpc_timeout=timeout)
        view = await memo_view(desc)
        source: StatusSource = "memo"
        if desc.status == WorkflowExecutionStatus.COMPLETED and (
            view is None or view.status not in TERMINAL_STATUSES
        ):
            # The memo lags the result by at most one upsert; the result is final.
            view, source = await handle.result(rpc_timeout=timeout), "result"
    if view is None:
        view, source = await _described_view(desc), "describe"
    return reconcile(view, desc.status, desc), source


async def memo_view(execution: WorkflowExecution) -> RunView | None:
    try:
        raw = await execution.memo_value(MEMO_STATUS_KEY, None)
    except (KeyError, ValueError) as err:
        # Encrypted under a payload key this API does not hold (or holds no more): the run still
        # lists, from its search attributes, instead of failing the whole page.
        log.warning("memo of %s is unreadable: %s", execution.id, err)
        return None
    if raw is None:
        return None
    try:
        return RunView.model_validate(raw)
    except ValidationError as err:
        log.warning("memo of %s is not a RunView: %s", execution.id, err)
        return None


def reconcile(
    view: RunView, status: WorkflowExecutionStatus | None, execution: WorkflowExecution
) -> RunView:
    truth = CLOSED_AS.get(status) if status is not None else None
    if truth is None or view.status == truth:
        return view
    reason = status.name.lower() if status is not None else "closed"
    return view.model_copy(
        update={
            "status": truth,
            "stage": Stage.finished,
            "pending": None,
            "finished_at": view.finished_at or execution.close_time,
            "updated_at": execution.close_time or view.updated_at,
            "finish_reason": reason,
            "error": view.error or (None if truth == RunStatus.cancelled else f"workflow {reason}"),
        }
    )


async def _described_view(desc: WorkflowExecutionDescription) -> RunView:
    # Only for executions started without our memo (by hand, or by an older API).
    closed = desc.status != WorkflowExecutionStatus.RUNNING
    return RunView(
        run_id=run_id_of(desc.id),
        question=await _summary(desc),
        status=RunStatus.completed if closed else RunStatus.running,
        stage=Stage.finished if closed else Stage.clarifying,
        created_at=desc.start_time,
        updated_at=desc.close_time or desc.start_time,
        finished_at=desc.close_time,
    )


async def _summary(desc: WorkflowExecutionDescription) -> str:
    try:
        return await desc.static_summary() or ""
    except (KeyError, ValueError):  # encrypted under a key this API does not hold
        return ""


async def run_summary(execution: WorkflowExecution) -> RunSummary:
    """One row of GET /runs, from visibility alone (no query, so no worker needed)."""
    view = await memo_view(execution)
    sa = execution.typed_search_attributes
    status = _enum(RunStatus, sa.get(RESEARCH_STATUS)) or (view.status if view else None)
    stage = _enum(Stage, sa.get(RESEARCH_STAGE)) or (view.stage if view else None)
    truth = CLOSED_AS.get(execution.status) if execution.status is not None else None
    if truth is not None:
        status, stage = truth, Stage.finished
    return RunSummary(
        run_id=view.run_id if view else run_id_of(execution.id),
        question=view.question if view else None,
        status=status,
        stage=stage,
        started_at=execution.start_time,
        closed_at=execution.close_time,
        temporal_status=execution.status.name if execution.status is not None else None,
        follow_up_of=view.follow_up_of if view else None,
    )


def _enum(kind: type[E], value: str | None) -> E | None:
    try:
        return kind(value) if value else None
    except ValueError:
        return None
