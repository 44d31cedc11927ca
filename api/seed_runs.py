"""Seed 002 on the main runs contract: its trigger fields as run options, its six statuses,
and the three files (`run.json`, `final.md`, `context_bundle.json`) its front end reads.

Nothing here starts, reads or cancels a run: routes call this to translate, then the same
service functions as every other client (api/runs_service.py, api/views.py).

The files are written by the API on the first read of `/output` or `/context`, from the run's
terminal view and the artifacts the workflow already stored (report, sources). That covers
every terminal run, failed and cancelled ones and runs recorded before this contract included,
with no change to the workflow; the writes are atomic and idempotent, so racing readers and
repeated reads are harmless. See docs/contracts.md.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from activities.run_files import write_run_files
from api.errors import ApiError
from api.schemas import CreateRunRequest
from api.seed_schemas import SeedRunStatus, SeedStatus
from api.source_policy import check_pinned_paths
from domain.run import TERMINAL_STATUSES, RunOptions, RunStatus, RunView
from providers.artifacts import ArtifactStore
from settings import Settings

SEED_STATUS: dict[RunStatus, SeedStatus] = {
    RunStatus.queued: "queued",
    RunStatus.running: "running",
    # A seed-002 run never waits on a person (see `run_options`); another client's run that
    # does is still under way as far as a poller can tell.
    RunStatus.awaiting_input: "running",
    RunStatus.completed: "completed",
    RunStatus.completed_with_gaps: "completed_with_gaps",
    RunStatus.failed: "failed",
    # Ended before a normal finish, by a person (stop, cancel) or an input deadline.
    RunStatus.stopped: "stopped",
    RunStatus.cancelled: "stopped",
    RunStatus.expired: "stopped",
}
SEED_FIELDS = frozenset({"enable_sql", "markdown_path", "log_llm_payload"})


def is_unattended(body: CreateRunRequest) -> bool:
    """A seed-002 trigger: a seed field sent and no `options`. Nobody answers such a run."""
    sent = body.model_fields_set
    return "options" not in sent and bool(sent & SEED_FIELDS)


def folder_names(settings: Settings) -> list[str]:
    """The names `markdown_path` may take: the configured documents folders' own names."""
    return sorted({Path(folder).name for folder in settings.docs_dirs})


def run_options(body: CreateRunRequest, settings: Settings) -> RunOptions:
    """The run's options: `options` as sent, with the seed-002 fields applied and checked."""
    if body.enable_sql:
        raise ApiError(
            422,
            "sql_not_available",
            "enable_sql: this service has no SQL source; send false or leave it out",
        )
    options = RunOptions.model_validate(body.options.model_dump())
    if is_unattended(body):
        # Rule of docs/contracts.md: a seed-002 client never answers or reviews, so its run
        # asks nothing and delivers its report unreviewed, ending `completed`.
        options.clarify = False
        options.require_plan_approval = False
        options.require_acceptance = False
    folder = body.markdown_path if body.markdown_path is not None else options.docs_folder
    if folder is not None:
        names = folder_names(settings)
        if folder not in names:
            raise ApiError(
                422,
                "unknown_markdown_path",
                f"no documents folder {folder!r}; the folders are: {', '.join(names) or 'none'}",
                {"markdown_path": folder, "folders": names},
            )
        options.docs_folder = folder
    options.log_llm_payload = options.log_llm_payload or body.log_llm_payload
    check_pinned_paths(options, settings)
    return options


def seed_status(view: RunView) -> SeedRunStatus:
    return SeedRunStatus(
        run_id=view.run_id,
        status=SEED_STATUS[view.status],
        started_at=view.created_at,
        completed_at=view.finished_at,
        finish_reason=view.finish_reason,
        error=view.error,
    )


def require_terminal(view: RunView) -> None:
    if view.status not in TERMINAL_STATUSES:
        raise ApiError(
            409,
            "run_not_finished",
            "the run has not finished yet; poll its status until it is terminal",
            {"status": SEED_STATUS[view.status], "stage": view.stage.value},
        )


def data_path(store: ArtifactStore, settings: Settings, key: str) -> str:
    """Where `key` lies, relative to the data directory (absolute if the store is elsewhere)."""
    path = store.path(key)
    try:
        return str(path.relative_to(Path(settings.data_dir).expanduser().resolve()))
    except ValueError:
        return str(path)


async def run_files(store: ArtifactStore, view: RunView, folder: str) -> tuple[str, str]:
    """`write_run_files` off the event loop; a recorded artifact that is gone is a 500."""
    try:
        files = await asyncio.to_thread(write_run_files, store, view, folder)
        return files.final, files.context_bundle
    except FileNotFoundError as exc:
        raise ApiError(
            500, "artifact_missing", "an artifact the run recorded is not in the store"
        ) from exc
