"""With keys on, run ids are per owner (issue 13, item 10): a run id another owner already used
is free for you (no 409 to tell you it exists), yours is still a 409, and runs started before ids
were scoped stay reachable by their owner only.

Real dev server, no worker: GET answers from the start memo once the query times out.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from temporalio.client import Client

from api.runs_service import run_workflow_id, start_research_run
from domain.run import RunOptions, RunStatus, RunView
from settings import Settings
from tests.helpers.frontends import keyed_clients, with_keys
from workflows.search_attributes import research_workflow_id

RUNS = "/api/v1/runs"
SUFFIX = uuid.uuid4().hex[:8]
ADA, GRACE = f"ada-ids-{SUFFIX}", f"grace-ids-{SUFFIX}"
ADA_KEY, GRACE_KEY = secrets.token_urlsafe(24), secrets.token_urlsafe(24)

Api = Callable[[str], httpx.AsyncClient]


@pytest.fixture
def keyed(settings: Settings) -> Settings:
    return with_keys(settings, {ADA_KEY: ADA, GRACE_KEY: GRACE})


@pytest.fixture
async def api(client: Client, keyed: Settings) -> AsyncIterator[Api]:
    async with keyed_clients(client, keyed) as make:
        yield make


async def start(http: httpx.AsyncClient, run_id: str, question: str) -> httpx.Response:
    body = {"question": question, "run_id": run_id, "options": {"clarify": False}}
    return await http.post(RUNS, json=body)


async def terminate(client: Client, *workflow_ids: str) -> None:
    for workflow_id in workflow_ids:
        try:
            await client.get_workflow_handle(workflow_id).terminate("test over")
        except Exception:  # already closed or never started
            pass


async def test_two_owners_may_pick_the_same_run_id(api: Api, client: Client) -> None:
    ada, grace = api(ADA_KEY), api(GRACE_KEY)
    run_id = f"shared-{SUFFIX}"
    try:
        first = await start(ada, run_id, "Ada's question?")
        assert first.status_code == 202, first.text
        # Before scoping, this was a 409 that told grace that somebody's run had this id.
        second = await start(grace, run_id, "Grace's question?")
        assert second.status_code == 202, second.text
        assert first.json()["run_id"] == second.json()["run_id"] == run_id
        assert first.json()["workflow_id"] != second.json()["workflow_id"]
        for http, question in ((ada, "Ada's question?"), (grace, "Grace's question?")):
            view = await http.get(f"{RUNS}/{run_id}")
            assert view.status_code == 200, view.text
            assert view.json()["question"] == question
        again = await start(ada, run_id, "Ada again?")
        assert again.status_code == 409 and again.json()["error_code"] == "run_exists"
    finally:
        await terminate(client, run_workflow_id(run_id, ADA), run_workflow_id(run_id, GRACE))


async def test_runs_started_before_scoping_stay_their_owners(
    api: Api, client: Client, keyed: Settings
) -> None:
    ada, grace = api(ADA_KEY), api(GRACE_KEY)
    run_id = f"legacy-{SUFFIX}"
    # What POST /runs did before: the unscoped id, the owner only in the search attribute.
    workflow_id = await start_research_run(
        client, keyed, run_id=run_id, question="Old?", options=RunOptions(), owner=ADA
    )
    assert workflow_id == research_workflow_id(run_id)
    try:
        mine = await ada.get(f"{RUNS}/{run_id}")
        assert mine.status_code == 200 and mine.json()["question"] == "Old?"
        theirs = await grace.get(f"{RUNS}/{run_id}")
        assert theirs.status_code == 404 and theirs.json()["error_code"] == "run_not_found"
        cancelled = await ada.post(f"{RUNS}/{run_id}/cancel")
        assert cancelled.status_code in (200, 202), cancelled.text
        duplicate = await start(ada, run_id, "Old again?")
        assert duplicate.status_code == 409 and duplicate.json()["error_code"] == "run_exists"
        fresh = await start(grace, run_id, "Grace's own?")
        assert fresh.status_code == 202, fresh.text
    finally:
        await terminate(client, workflow_id, run_workflow_id(run_id, GRACE))


async def test_two_owners_runs_of_one_id_keep_their_own_artifacts(
    api: Api, client: Client, keyed: Settings, worker: object, llm: object
) -> None:
    """Artifacts go to the folder of the scoped workflow id: before, both runs wrote
    runs/<run_id>/ and one owner could be served the other's report."""
    ada, grace = api(ADA_KEY), api(GRACE_KEY)
    run_id = f"artifacts-{SUFFIX}"
    body = {"clarify": False, "require_acceptance": False, "depth": 1, "breadth": 1}
    questions = {ADA: "How do flow batteries store energy?", GRACE: "How does pumped hydro work?"}
    try:
        for http, owner in ((ada, ADA), (grace, GRACE)):
            started = await http.post(
                RUNS, json={"question": questions[owner], "run_id": run_id, "options": body}
            )
            assert started.status_code == 202, started.text
        refs = {}
        for owner in (ADA, GRACE):
            handle = client.get_workflow_handle(run_workflow_id(run_id, owner))
            view = RunView.model_validate(await handle.result())
            assert view.status in (RunStatus.completed, RunStatus.completed_with_gaps)
            refs[owner] = view.report_ref
            saved = json.loads(
                (keyed.artifacts_dir / "runs" / f"{run_id}~{owner}" / "run.json").read_text()
            )
            assert saved["question"] == questions[owner]
        assert refs[ADA] and refs[GRACE] and refs[ADA] != refs[GRACE]
    finally:
        await terminate(client, run_workflow_id(run_id, ADA), run_workflow_id(run_id, GRACE))
