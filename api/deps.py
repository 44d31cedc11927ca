"""Typed dependencies; tests replace them through `app.dependency_overrides`."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Path, Request
from temporalio.client import Client, WorkflowHandle

from api.auth import Principal, unauthorized
from api.errors import ApiError
from api.owners import OwnerCache
from api.runs_service import owned_approval_handle, owned_run_handle
from api.schemas import ID_PATTERN
from api.temporal import TemporalConnector
from domain.run import ApprovalView, RunView
from providers.artifacts import ArtifactStore
from settings import Settings
from workflows.approval import ApprovalWorkflow
from workflows.research import ResearchWorkflow

_ID_RE = re.compile(ID_PATTERN)


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_temporal_client(request: Request) -> Client:
    connector: TemporalConnector = request.app.state.temporal
    return await connector.get()


def get_artifacts(request: Request) -> ArtifactStore:
    return request.app.state.artifacts


def get_owner_cache(request: Request) -> OwnerCache:
    return request.app.state.owners


def get_principal(
    request: Request, settings: Annotated[Settings, Depends(get_settings)]
) -> Principal | None:
    """The caller (set by GuardMiddleware); None when auth is off and everyone owns everything."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None and settings.auth_enabled:
        # Only reachable if a route escaped the guard: fail closed.
        raise unauthorized("an API key is required")
    return principal


SettingsDep = Annotated[Settings, Depends(get_settings)]
TemporalDep = Annotated[Client, Depends(get_temporal_client)]
ArtifactsDep = Annotated[ArtifactStore, Depends(get_artifacts)]
PrincipalDep = Annotated[Principal | None, Depends(get_principal)]
OwnersDep = Annotated[OwnerCache, Depends(get_owner_cache)]


def _checked_id(value: str, subject: str) -> str:
    # An id that cannot exist is simply not found: never a 422 or a 5xx from Temporal.
    if not _ID_RE.fullmatch(value):
        raise ApiError(404, f"{subject}_not_found", f"no such {subject}")
    return value


def valid_run_id(run_id: Annotated[str, Path(description="The run's id")]) -> str:
    return _checked_id(run_id, "run")


def valid_approval_id(
    approval_id: Annotated[str, Path(description="The approval's id")],
) -> str:
    return _checked_id(approval_id, "approval")


RunIdDep = Annotated[str, Depends(valid_run_id)]
ApprovalIdDep = Annotated[str, Depends(valid_approval_id)]


# Every route that names a run or an approval gets its handle here, so the ownership check
# cannot be forgotten: another owner's id is the same 404 as an id that never existed.
async def get_run_handle(
    run_id: RunIdDep, client: TemporalDep, principal: PrincipalDep, owners: OwnersDep
) -> WorkflowHandle[ResearchWorkflow, RunView]:
    return await owned_run_handle(client, run_id, principal, owners)


async def get_approval_handle(
    approval_id: ApprovalIdDep, client: TemporalDep, principal: PrincipalDep, owners: OwnersDep
) -> WorkflowHandle[ApprovalWorkflow, ApprovalView]:
    return await owned_approval_handle(client, approval_id, principal, owners)


RunHandleDep = Annotated[WorkflowHandle[ResearchWorkflow, RunView], Depends(get_run_handle)]
ApprovalHandleDep = Annotated[
    WorkflowHandle[ApprovalWorkflow, ApprovalView], Depends(get_approval_handle)
]
