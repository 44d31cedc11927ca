"""The one recipe to start a research run, used by POST /runs and by the benchmarks.

Everything a run's start carries lives here: the workflow id, the input, the id reuse policy,
the Web UI summary, the search attributes the API filters and checks owners by, and the memo
that answers GET /runs/{id} before a worker has picked the run up. So does the way back: every
route that names a run finds its workflow through `owned_run_handle`.

With keys on, a run's workflow id is scoped by its owner (`research-<run_id>~<owner>`; `~` is
in neither a run id nor an owner name), so two owners may pick the same run id and neither
learns of the other's run from a 409. With auth off there is one owner, and the id stays
`research-<run_id>`. Runs started with keys on before ids were scoped have that unscoped id:
the lookup falls back to it (with the same ownership check), so they stay reachable.
Approvals follow the same rule (`approval-<approval_id>~<owner>`, `owned_approval_handle`):
`owned_handle` and `owns_unscoped` are the one lookup and the one duplicate check for both.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy

from api.auth import Principal, ensure_owner
from api.errors import ApiError, Subject
from api.owners import OwnerCache
from domain.options import FollowUpSeed
from domain.run import ApprovalView, RunOptions, RunStatus, RunView, Stage
from domain.state import ResearchInput
from settings import Settings
from workflows.approval import ApprovalWorkflow
from workflows.research import ResearchWorkflow
from workflows.search_attributes import (
    FOLLOW_UP_OF,
    MEMO_STATUS_KEY,
    RESEARCH_OWNER,
    RESEARCH_STAGE,
    RESEARCH_STATUS,
    TOKENS_USED,
    approval_workflow_id,
    research_workflow_id,
)

SUMMARY_CHARS = 200
OWNER_SEPARATOR = "~"
RunHandle = WorkflowHandle[ResearchWorkflow, RunView]
ApprovalHandle = WorkflowHandle[ApprovalWorkflow, ApprovalView]
SelfT = TypeVar("SelfT")
ParamT = TypeVar("ParamT")
ResultT = TypeVar("ResultT")


def owner_scoped(item_id: str, owner: str | None) -> str:
    """`item_id` scoped by `owner` (`<id>~<owner>`), or as is when `owner` is None (auth off)."""
    return item_id if owner is None else f"{item_id}{OWNER_SEPARATOR}{owner}"


def run_workflow_id(run_id: str, owner: str | None) -> str:
    """The workflow id of `owner`'s run `run_id` (`owner` None: auth off, ids unscoped)."""
    return research_workflow_id(owner_scoped(run_id, owner))


def approval_workflow_id_for(approval_id: str, owner: str | None) -> str:
    """The workflow id of `owner`'s approval `approval_id` (`owner` None: auth off, unscoped)."""
    return approval_workflow_id(owner_scoped(approval_id, owner))


def run_id_of(workflow_id: str) -> str:
    """The REST run id a research workflow id names, scoped or not."""
    scoped = workflow_id.removeprefix(research_workflow_id(""))
    return scoped.partition(OWNER_SEPARATOR)[0]


async def owned_handle(
    client: Client,
    workflow: Callable[[SelfT, ParamT], Awaitable[ResultT]],
    workflow_id_of: Callable[[str, str | None], str],
    item_id: str,
    principal: Principal | None,
    owners: OwnerCache | None,
    subject: Subject,
) -> WorkflowHandle[SelfT, ResultT]:
    """The caller's run or approval `item_id` (`workflow_id_of` names its workflow id for an
    owner), or the not-found 404 (another owner's included), falling back to the unscoped id."""
    owner = principal.owner if principal else None
    handle = client.get_workflow_handle_for(workflow, workflow_id_of(item_id, owner))
    if principal is None:
        return handle
    try:
        await ensure_owner(handle, principal, subject, owners)
        return handle
    except ApiError as err:
        if err.status != 404:
            raise
    # Started before ids were scoped: the unscoped id, if this owner's (ensure_owner says).
    legacy = client.get_workflow_handle_for(workflow, workflow_id_of(item_id, None))
    await ensure_owner(legacy, principal, subject, owners)
    return legacy


async def owns_unscoped(
    client: Client,
    legacy_workflow_id: str,
    principal: Principal,
    owners: OwnerCache | None,
    subject: Subject,
) -> bool:
    """Whether this owner already has the run or approval under its pre-scoping workflow id."""
    legacy = client.get_workflow_handle(legacy_workflow_id)
    try:
        await ensure_owner(legacy, principal, subject, owners)
    except ApiError as err:
        if err.status == 404:
            return False
        raise
    return True


async def owned_run_handle(
    client: Client, run_id: str, principal: Principal | None, owners: OwnerCache | None
) -> RunHandle:
    """The caller's run `run_id`, or the run-not-found 404 (another owner's run included)."""
    return await owned_handle(
        client, ResearchWorkflow.run, run_workflow_id, run_id, principal, owners, "run"
    )


async def owned_approval_handle(
    client: Client, approval_id: str, principal: Principal | None, owners: OwnerCache | None
) -> ApprovalHandle:
    """The caller's approval, or the approval-not-found 404 (another owner's included)."""
    return await owned_handle(
        client,
        ApprovalWorkflow.run,
        approval_workflow_id_for,
        approval_id,
        principal,
        owners,
        "approval",
    )


async def owns_unscoped_run(
    client: Client, run_id: str, principal: Principal, owners: OwnerCache | None
) -> bool:
    """Whether this owner already has run `run_id` under its pre-scoping workflow id."""
    return await owns_unscoped(client, run_workflow_id(run_id, None), principal, owners, "run")


def summary_line(question: str) -> str:
    """The question on one line of at most SUMMARY_CHARS: the Web UI shows it so."""
    line = re.sub(r"\s+", " ", question).strip()
    return line if len(line) <= SUMMARY_CHARS else line[: SUMMARY_CHARS - 1] + "…"


async def start_research_run(
    client: Client,
    settings: Settings,
    *,
    run_id: str,
    question: str,
    options: RunOptions,
    owner: str,
    owner_scoped: bool = False,
    follow_up: FollowUpSeed | None = None,
) -> str:
    """Start run `run_id` for `owner` and return its workflow id (scoped by owner when
    `owner_scoped`, i.e. keys are on: see the module docstring). A `follow_up` run (the caller
    checked it owns the followed run) is seeded from it and linked by FollowUpOf.

    Raises what `Client.start_workflow` raises (a reused run id is
    `WorkflowAlreadyStartedError`); the API turns those into HTTP errors.
    """
    workflow_id = run_workflow_id(run_id, owner if owner_scoped else None)
    now = datetime.now(UTC)
    initial = RunView(
        run_id=run_id,
        question=question,
        status=RunStatus.queued,
        stage=Stage.clarifying,
        created_at=now,
        updated_at=now,
        options=options,
        follow_up_of=follow_up.run_id if follow_up else None,
    )
    attributes = [
        SearchAttributePair(RESEARCH_STATUS, RunStatus.queued.value),
        SearchAttributePair(RESEARCH_STAGE, Stage.clarifying.value),
        # Every later request with auth on is checked against this owner.
        SearchAttributePair(RESEARCH_OWNER, owner),
        SearchAttributePair(TOKENS_USED, 0),
    ]
    if follow_up is not None:
        attributes.append(SearchAttributePair(FOLLOW_UP_OF, follow_up.run_id))
    await client.start_workflow(
        ResearchWorkflow.run,
        ResearchInput(
            run_id=run_id,
            question=question,
            options=options,
            created_by=owner,
            notify_deployment=bool(settings.notify_urls),
            follow_up=follow_up,
        ),
        id=workflow_id,
        task_queue=settings.task_queue,
        # Run ids are never reused, even after the run closed: URLs and artifacts stay unique.
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        static_summary=summary_line(question),
        search_attributes=TypedSearchAttributes(attributes),
        memo={MEMO_STATUS_KEY: initial.model_dump(mode="json")},
    )
    return workflow_id
