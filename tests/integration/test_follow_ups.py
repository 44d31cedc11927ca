"""Follow-up questions through REST on the dev server, with the scripted model and keys on.

A follow-up of a finished run is a new run linked both ways (its view's `follow_up_of`, the
first run's GET .../followups), seeded with the first run's sources: no source the first run
read is read again (counted on the follow-up's workflow history). An unfinished run cannot be
followed up (409); another owner's run is not found (404).
"""

from __future__ import annotations

import uuid

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.worker import Worker

from activities.table import READ_SOURCE
from api.runs_service import run_workflow_id
from cli.ask import EXIT_API_ERROR
from settings import Settings
from tests.fakes.llm_server import FakeLLM
from tests.helpers.frontends import (
    FAST,
    RUNS,
    Cli,
    code,
    handle_of,
    keyed_clients,
    ok,
    pending,
    poll,
    with_keys,
)
from workflows.research import ResearchWorkflow

SUFFIX = uuid.uuid4().hex[:8]
ADA, GRACE = f"ada-{SUFFIX}", f"grace-{SUFFIX}"
ADA_KEY, GRACE_KEY = f"ada-key-{SUFFIX}", f"grace-key-{SUFFIX}"
UNATTENDED = {**FAST, "clarify": False, "require_acceptance": False}
QUESTION = "How is grid energy stored?"


def finished(view: dict) -> bool:
    return view["stage"] == "finished"


async def read_source_ids(client: Client, run_id: str, owner: str) -> list[str]:
    """The source ids of every read_source activity the run scheduled (from its history)."""
    handle = client.get_workflow_handle_for(ResearchWorkflow.run, run_workflow_id(run_id, owner))
    history = await handle.fetch_history()
    ids = []
    for event in history.events:
        if event.event_type != EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            continue
        attrs = event.activity_task_scheduled_event_attributes
        if attrs.activity_type.name == READ_SOURCE.name:
            payload = client.data_converter.payload_converter.from_payloads(
                attrs.input.payloads, [READ_SOURCE.input]
            )[0]
            ids.append(payload.hit.source_id)
    return ids


async def test_a_follow_up_reuses_the_first_runs_sources_and_links_both_ways(
    client: Client, settings: Settings, worker: Worker, llm: FakeLLM
):
    keyed = with_keys(settings, {ADA_KEY: ADA, GRACE_KEY: GRACE})
    async with keyed_clients(client, keyed) as make:
        ada, grace = make(ADA_KEY), make(GRACE_KEY)
        first = f"first-{SUFFIX}"
        resp = await ada.post(
            RUNS, json={"question": QUESTION, "run_id": first, "options": UNATTENDED}
        )
        assert resp.status_code == 202, resp.text
        first_view = await poll(ada, first, finished)
        assert first_view["status"].startswith("completed"), first_view
        first_read = await read_source_ids(client, first, ADA)
        assert first_read and first_view["progress"]["sources_read"] == len(first_read)

        # Someone else's run is not found, for asking and for listing alike.
        body = {"question": "And what does it cost?", "options": UNATTENDED}
        assert code(await grace.post(f"{RUNS}/{first}/followups", json=body)) == (
            404,
            "run_not_found",
        )
        assert code(await grace.get(f"{RUNS}/{first}/followups"))[0] == 404

        follow = f"follow-{SUFFIX}"
        resp = await ada.post(f"{RUNS}/{first}/followups", json={**body, "run_id": follow})
        assert resp.status_code == 202, resp.text
        assert resp.json()["run_id"] == follow
        view = await poll(ada, follow, finished)
        assert view["follow_up_of"] == first
        assert view["status"].startswith("completed"), view
        progress = view["progress"]
        assert progress["sources_reused"] == len(first_read)
        # No source the first run read was read again; new ones may be.
        again = await read_source_ids(client, follow, ADA)
        assert not set(again) & set(first_read), again
        assert progress["sources_read"] == len(first_read) + len(again)
        # The follow-up's sources.json starts with the first run's sources, numbered as there.
        sources = (await ada.get(f"{RUNS}/{follow}/sources")).json()
        numbered = [s["source_id"] for s in sources][: len(first_read)]
        assert numbered == first_read

        listed = (await ada.get(f"{RUNS}/{first}/followups")).json()
        assert [r["run_id"] for r in listed["runs"]] == [follow]
        assert listed["runs"][0]["follow_up_of"] == first


async def test_an_unfinished_run_cannot_be_followed_up(
    client: Client, settings: Settings, worker: Worker, llm: FakeLLM
):
    keyed = with_keys(settings, {ADA_KEY: ADA})
    async with keyed_clients(client, keyed) as make:
        ada = make(ADA_KEY)
        waiting = f"waiting-{SUFFIX}"
        options = {**FAST, "clarify": False, "require_acceptance": True}
        resp = await ada.post(
            RUNS, json={"question": QUESTION, "run_id": waiting, "options": options}
        )
        assert resp.status_code == 202, resp.text
        # It has a report, but waits for a person to accept it: not finished.
        await poll(ada, waiting, pending("report"))
        body = {"question": "And what does it cost?"}
        resp = await ada.post(f"{RUNS}/{waiting}/followups", json=body)
        assert code(resp) == (409, "run_not_finished"), resp.text
        assert (await ada.get(f"{RUNS}/{waiting}/followups")).json()["runs"] == []
        await ada.post(f"{RUNS}/{waiting}/cancel", json={})


async def test_the_cli_asks_a_follow_up(cli: Cli, client: Client, worker: Worker, llm: FakeLLM):
    first, follow = f"cli-first-{SUFFIX}", f"cli-follow-{SUFFIX}"
    fast = ("--depth", "1", "--breadth", "2", "--no-input")
    # Before the first run exists (and so before it is finished), nothing can follow it up.
    early = await cli("ask", "--follow-up", first, "--run-id", follow, "A follow-up?", *fast)
    assert early.exit_code == EXIT_API_ERROR and "run_not_found" in early.stderr, early.stderr
    ok(await cli("ask", "--run-id", first, QUESTION, *fast))
    asked = await cli("ask", "--follow-up", first, "--run-id", follow, "What does it cost?", *fast)
    assert f"following up {first}" in ok(asked) + asked.stderr
    view = await handle_of(client, follow).query(ResearchWorkflow.get_status)
    assert view.follow_up_of == first and view.progress.sources_reused >= 1
