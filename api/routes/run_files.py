"""Seed 002's polling routes on a run: `/status`, `/output` and `/context` (tag "seed-002").

Thin: the run is found and read as for every other route (RunHandleDep, resolve_run_view);
api/seed_runs.py translates the view into the seed's shapes and writes its files.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ArtifactsDep, RunHandleDep, SettingsDep
from api.routes import API_PREFIX, error_responses
from api.seed_runs import (
    SEED_STATUS,
    data_path,
    require_terminal,
    run_files,
    seed_status,
)
from api.seed_schemas import SeedRunContext, SeedRunOutput, SeedRunStatus
from api.views import resolve_run_view
from workflows.search_attributes import artifact_folder

router = APIRouter(prefix=f"{API_PREFIX}/runs", tags=["seed-002"])


@router.get(
    "/{run_id}/status", response_model=SeedRunStatus, responses=error_responses(404, 503, 504)
)
async def get_run_status(handle: RunHandleDep, settings: SettingsDep) -> SeedRunStatus:
    """A light status for polling: seed 002's six statuses, timestamps, finish reason, error."""
    view, _ = await resolve_run_view(handle, settings)
    return seed_status(view)


@router.get(
    "/{run_id}/output", response_model=SeedRunOutput, responses=error_responses(404, 409, 500, 503)
)
async def get_run_output(
    handle: RunHandleDep, settings: SettingsDep, artifacts: ArtifactsDep
) -> SeedRunOutput:
    """The final answer (final.md, the report's Markdown); 409 until the run is terminal."""
    view, _ = await resolve_run_view(handle, settings)
    require_terminal(view)
    final, _ = await run_files(artifacts, view, artifact_folder(handle.id))
    content = artifacts.path(final).read_text(encoding="utf-8")
    return SeedRunOutput(
        run_id=view.run_id,
        status=SEED_STATUS[view.status],
        content=content,
        final_output_path=data_path(artifacts, settings, final),
    )


@router.get(
    "/{run_id}/context",
    response_model=SeedRunContext,
    responses=error_responses(404, 409, 500, 503),
)
async def get_run_context(
    handle: RunHandleDep, settings: SettingsDep, artifacts: ArtifactsDep
) -> SeedRunContext:
    """The context bundle (context_bundle.json): question, plan, sources with their passages
    and notes, and the report's references; 409 until the run is terminal."""
    view, _ = await resolve_run_view(handle, settings)
    require_terminal(view)
    _, bundle = await run_files(artifacts, view, artifact_folder(handle.id))
    return SeedRunContext(
        run_id=view.run_id,
        status=SEED_STATUS[view.status],
        context_bundle=artifacts.read_json(bundle),
        context_bundle_path=data_path(artifacts, settings, bundle),
    )
