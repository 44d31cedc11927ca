"""The seed adapters' tables (api/contracts/): every status of ours has a word in each seed's
vocabulary, progress only grows through a run's stages, and seed 004's error mapping."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from api.contracts import executions, jobs_api, research_api
from api.contracts.common import stage_percent
from api.errors import ApiError
from domain.run import RunOptions, RunStatus, RunView, Stage


@pytest.mark.parametrize("table", [research_api.STATUS, jobs_api.STATUS, executions.STATUS])
def test_every_status_has_a_seed_word(table: dict[RunStatus, str]) -> None:
    assert set(table) == set(RunStatus)


def test_progress_grows_through_the_stages_a_seed_run_goes_through() -> None:
    path = [Stage.clarifying, Stage.planning, Stage.researching, Stage.writing, Stage.finished]
    percents = [stage_percent(s) for s in path]
    assert percents == sorted(percents) and percents[-1] == 100
    rounds = [stage_percent(Stage.researching, n, 3) for n in (1, 2, 3)]
    assert rounds == [20, 40, 60] and rounds[-1] < stage_percent(Stage.writing)


def test_completed_steps_follow_the_runs_options() -> None:
    now = datetime.now(UTC)
    view = RunView(
        run_id="p--1",
        question="q",
        status=RunStatus.running,
        stage=Stage.writing,
        created_at=now,
        updated_at=now,
        options=RunOptions(clarify=False),
    )
    assert executions.steps_of(view) == ["planning", "researching"]
    done = view.model_copy(update={"stage": Stage.finished, "status": RunStatus.completed})
    assert executions.steps_of(done) == ["planning", "researching", "writing", "report_review"]
    assert executions.execution(done).project_id == "p"
    assert executions.execution(done).current_step_id is None


@pytest.mark.parametrize(
    ("status", "code", "seed_status", "seed_code"),
    [
        (404, "run_not_found", 404, "EXECUTION_NOT_FOUND"),
        (422, "invalid_request", 400, "VALIDATION_ERROR"),
        (409, "wrong_stage", 400, "INVALID_STATE"),
        (409, "run_finished", 400, "INVALID_STATE"),
        (409, "run_exists", 409, "CONFLICT"),
        (503, "temporal_unavailable", 503, "SERVICE_UNAVAILABLE"),
        (504, "update_timeout", 503, "SERVICE_UNAVAILABLE"),
        (500, "boom", 500, "INTERNAL_ERROR"),
        (429, "too_many_requests", 429, "too_many_requests"),
        (404, "WORKFLOW_NOT_FOUND", 404, "WORKFLOW_NOT_FOUND"),
    ],
)
def test_seed_004_error_mapping(status: int, code: str, seed_status: int, seed_code: str) -> None:
    mapped = executions.seed_error(ApiError(status, code, "m"))
    assert (mapped.status, mapped.error_code) == (seed_status, seed_code)
