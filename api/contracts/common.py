"""What every seed adapter shares: starting a run, finding the caller's run by a seed's id,
its progress as one number, and its report's text. Each piece delegates to the main contract.
"""

from __future__ import annotations

from uuid import uuid4

from temporalio.client import Client

from api.auth import Principal
from api.deps import get_run_handle, valid_run_id
from api.errors import ApiError
from api.exports.document import read_artifact
from api.limits import check_active_runs, max_active_runs
from api.owners import OwnerCache
from api.routes.run_actions import cancel_run
from api.runs_service import start_research_run
from api.temporal import finished_error, temporal_calls, workflow_type
from api.views import RunHandle, resolve_run_view
from domain.run import TERMINAL_STATUSES, RunOptions, RunView, Stage
from providers.artifacts import ArtifactStore
from settings import Settings
from workflows.research import ResearchWorkflow

# How far along a run is at the start of each stage, in percent. Coarse on purpose: a stage's
# length depends on the model and the sources, so only research rounds refine it (see below).
STAGE_PERCENT: dict[Stage, int] = {
    Stage.clarifying: 5,
    Stage.planning: 10,
    Stage.plan_review: 15,
    Stage.researching: 20,
    Stage.writing: 80,
    Stage.report_review: 90,
    Stage.revising: 85,
    Stage.finished: 100,
}
RESEARCH_SPAN = 60  # researching covers 20..80, shared evenly by its rounds

# Seed clients never review a report or approve a plan (none of them can, but seed 004 through
# its acceptance route), so their runs are started without those waits: they finish unattended.
UNATTENDED = RunOptions(clarify=False, require_plan_approval=False, require_acceptance=False)


async def start_run(
    client: Client,
    settings: Settings,
    principal: Principal | None,
    question: str,
    options: RunOptions,
    run_id: str | None = None,
) -> str:
    """Start a run for the caller (the same cap, owner and recipe as POST /api/v1/runs) and
    return its run id (`run_id`, or a new random one)."""
    owner = principal.owner if principal else None
    if (cap := max_active_runs(settings)) is not None:
        await check_active_runs(client, workflow_type(ResearchWorkflow), owner, cap)
    run_id = run_id or uuid4().hex
    async with temporal_calls("run"):
        await start_research_run(
            client,
            settings,
            run_id=run_id,
            question=question,
            options=options,
            owner=owner or "anonymous",
            owner_scoped=principal is not None,
        )
    return run_id


async def owned_run(
    run_id: str, client: Client, principal: Principal | None, owners: OwnerCache
) -> RunHandle:
    """The caller's run named by a seed's id (the run id), or the run-not-found 404."""
    return await get_run_handle(valid_run_id(run_id), client, principal, owners)


def progress_percent(view: RunView) -> float:
    """How far the run is, 0 to 100: by stage, with research rounds filling their span."""
    if view.status in TERMINAL_STATUSES:
        return 100.0
    return stage_percent(view.stage, view.progress.round, view.progress.rounds_total)


def stage_percent(stage: Stage | None, round_no: int = 0, rounds_total: int = 0) -> float:
    if stage is None:
        return 0.0
    base = STAGE_PERCENT[stage]
    if stage == Stage.researching and rounds_total > 0:
        done = max(0, min(round_no - 1, rounds_total))
        base += RESEARCH_SPAN * done // rounds_total
    return float(base)


async def report_markdown(view: RunView, artifacts: ArtifactStore) -> str | None:
    """The run's report as Markdown, or None when it has none (yet, or ever)."""
    if not view.report_ref:
        return None
    text: str = await read_artifact(artifacts, view.report_ref, as_json=False)
    return text


async def with_pending_text(view: RunView, artifacts: ArtifactStore) -> RunView:
    """`view` with its pending plan or report's text, which the run holds only by reference
    (payload limits), as GET /api/v1/runs/{id} shows it."""
    pending = view.pending
    if pending is None or pending.content is not None or not pending.artifact_ref:
        return view
    try:
        text: str | None = await read_artifact(artifacts, pending.artifact_ref, as_json=False)
    except ApiError:
        text = None
    return view.model_copy(update={"pending": pending.model_copy(update={"content": text})})


async def cancel(run_id: str, handle: RunHandle, settings: Settings) -> None:
    """Cancel the run as POST /api/v1/runs/{id}/cancel does, refusing (409 run_finished) once
    its view says it ended: the workflow may still be closing (writing its event log) when a
    client that saw `completed` asks, and Temporal would take that cancel."""
    view, _ = await resolve_run_view(handle, settings)
    if view.status in TERMINAL_STATUSES:
        raise finished_error("run")
    await cancel_run(run_id, handle)
