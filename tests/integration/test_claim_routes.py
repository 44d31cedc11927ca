"""The reviewer's two requests on one claim through REST and the `research` CLI, on the real
stack: dev server, worker, scripted model, local corpus, the real app.

The claims writer is not this branch's (issue 12, item 1), so the worker serves
`llm.write_report` with the stand-in of tests/fakes/claims_writer.py, one claim per plan item
(`s<item>c1`), plus with `lie` set a claim `s1c2` its passage does not support. Everything
after the writer is production: the support check, the workflow's updates, the routes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from api.deps import get_temporal_client
from api.main import create_app
from api.runs_service import run_workflow_id
from settings import Settings
from tests.fakes.claims_writer import LIE, ClaimsWriter, claims_worker
from tests.fakes.llm_server import FakeLLM
from tests.helpers.frontends import (
    RUNS,
    Cli,
    code,
    keyed_clients,
    ok,
    one_line_error,
    pending,
    poll,
    with_keys,
)
from tests.live import QUICK_STREAMS, ThreadedApi
from workflows.research import ResearchWorkflow

QUESTION = "How is grid energy stored?"


@pytest.fixture(scope="module")
async def gate(client: Client, settings: Settings) -> AsyncIterator[tuple[Settings, ClaimsWriter]]:
    async with claims_worker(client, settings) as served:
        yield served


@pytest.fixture
async def api(
    client: Client, gate: tuple[Settings, ClaimsWriter]
) -> AsyncIterator[httpx.AsyncClient]:
    """The app with keys off (its runs on the claims worker's queue), in process."""
    app = create_app(gate[0])
    app.dependency_overrides[get_temporal_client] = lambda: client
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        yield http


async def under_review(api: httpx.AsyncClient, run_id: str, **options: Any) -> dict[str, Any]:
    """Start a run that waits for a person on its report; its view once the report waits."""
    body = {
        "question": QUESTION,
        "run_id": run_id,
        "options": {"clarify": False, "depth": 1, "breadth": 2, **options},
    }
    resp = await api.post(RUNS, json=body)
    assert resp.status_code == 202, resp.text
    return await poll(api, run_id, pending("report"))


def claim_url(run_id: str, claim_id: str, action: str) -> str:
    return f"{RUNS}/{run_id}/claims/{claim_id}/{action}"


async def events_of(client: Client, run_id: str, owner: str | None = None) -> list[Any]:
    handle = client.get_workflow_handle_for(ResearchWorkflow.run, run_workflow_id(run_id, owner))
    return (await handle.query(ResearchWorkflow.get_events, 0)).events


async def pending_html(api: httpx.AsyncClient, run_id: str) -> str:
    resp = await api.get(f"{RUNS}/{run_id}", params={"pending_html": "true"})
    assert resp.status_code == 200, resp.text
    return str(resp.json()["pending"]["content_html"])


async def test_strike_takes_the_claim_out_once_by_request_id(
    client: Client,
    api: httpx.AsyncClient,
    gate: tuple[Settings, ClaimsWriter],
    llm: FakeLLM,
    run_id: str,
) -> None:
    gate[1].lie = False
    await under_review(api, run_id)
    assert 'data-claim="s1c1" data-support="supported"' in await pending_html(api, run_id)
    body = {"reason": "not what the source says", "request_id": "k1", "struck_by": "ada"}
    first = await api.post(claim_url(run_id, "s1c1", "strike"), json=body)
    assert first.status_code == 200, first.text
    assert first.json() == {
        "accepted": True,
        "subject": "claim",
        "revision": 0,
        "replayed": False,
    }
    again = await api.post(claim_url(run_id, "s1c1", "strike"), json=body)
    assert again.status_code == 200 and again.json()["revision"] == 0
    assert again.json()["accepted"] is True and again.json()["subject"] == "claim"
    for url, sent, expected in (
        # Struck already: the report no longer holds it.
        (claim_url(run_id, "s1c1", "strike"), {"request_id": "k2"}, (404, "unknown_claim")),
        (claim_url(run_id, "nope", "strike"), {}, (404, "unknown_claim")),
        (claim_url(run_id, "x" * 201, "strike"), {}, (404, "unknown_claim")),
        (
            claim_url(run_id, "s1c1", "strike"),
            body | {"reason": "other"},
            (409, "request_id_reused"),
        ),
        (claim_url(run_id, "s1c1", "strike"), {"bogus": 1}, (422, "invalid_request")),
        (claim_url("no-such-run", "s1c1", "strike"), {}, (404, "run_not_found")),
    ):
        assert code(await api.post(url, json=sent)) == expected, url
    # The page's view of the report under review shows it struck, with the reason.
    html = await pending_html(api, run_id)
    assert 'data-claim="s1c1" data-support="struck"' in html and "not what the source says" in html
    decided = await api.post(f"{RUNS}/{run_id}/acceptance", json={"accepted": True})
    assert decided.status_code == 200, decided.text
    await poll(api, run_id, lambda v: v["stage"] == "finished")
    report = (await api.get(f"{RUNS}/{run_id}/report", params={"format": "json"})).json()
    assert "s1c1" not in [c["id"] for c in report["claims"]]
    assert [(c["id"], c["support"], c["reason"]) for c in report["removed"]] == [
        ("s1c1", "struck", "not what the source says")
    ]
    struck = [e.data for e in await events_of(client, run_id) if e.type == "claim_struck"]
    assert [(d["claim_id"], d["by"]) for d in struck] == [("s1c1", "ada")]  # once, by ada


async def test_find_source_sends_the_report_back_for_revision_1(
    client: Client,
    api: httpx.AsyncClient,
    gate: tuple[Settings, ClaimsWriter],
    llm: FakeLLM,
    run_id: str,
) -> None:
    gate[1].lie = True
    try:
        await under_review(api, run_id)
        url = claim_url(run_id, "s1c2", "find-source")  # removed as unsupported: may be found
        assert code(await api.post(claim_url(run_id, "x", "find-source"))) == (404, "unknown_claim")
        first = await api.post(url, json={"request_id": "f1"})
        assert first.status_code == 200, first.text
        result = first.json()
        assert (result["accepted"], result["subject"], result["revision"]) == (False, "report", 0)
        again = await api.post(url, json={"request_id": "f1"})
        assert again.status_code == 200 and again.json()["revision"] == 0
        # The review is decided: nothing else on it is taken.
        assert code(await api.post(claim_url(run_id, "s1c1", "strike"))) == (409, "nothing_pending")
        assert code(await api.post(url, json={"request_id": "f2"})) == (409, "nothing_pending")
        revised = await poll(
            api, run_id, lambda v: pending("report")(v) and v["pending"]["revision"] == 1
        )
        assert revised["progress"]["revisions"] == 1
        messages = [e.message for e in await events_of(client, run_id)]
        assert f"searching for a source: {LIE}" in messages
        await api.post(f"{RUNS}/{run_id}/cancel")
    finally:
        gate[1].lie = False


async def test_find_source_needs_a_revision_left_and_a_report_under_review(
    api: httpx.AsyncClient, gate: tuple[Settings, ClaimsWriter], llm: FakeLLM, run_id: str
) -> None:
    gate[1].lie = False
    body = {
        "question": QUESTION,
        "run_id": run_id,
        "options": {"clarify": False, "depth": 1, "breadth": 2, "require_plan_approval": True},
    }
    assert (await api.post(RUNS, json=body)).status_code == 202
    await poll(api, run_id, pending("plan"))
    assert code(await api.post(claim_url(run_id, "s1c1", "strike"))) == (409, "nothing_pending")
    assert code(await api.post(claim_url(run_id, "s1c1", "find-source"))) == (
        409,
        "nothing_pending",
    )
    await api.post(f"{RUNS}/{run_id}/cancel")
    other = f"{run_id}-nr"
    await under_review(api, other, max_revisions=0)
    assert code(await api.post(claim_url(other, "s1c1", "find-source"))) == (
        409,
        "revision_limit",
    )
    await api.post(f"{RUNS}/{other}/cancel")


async def test_with_keys_the_striker_is_the_keys_owner_and_others_see_no_run(
    client: Client, gate: tuple[Settings, ClaimsWriter], llm: FakeLLM, run_id: str
) -> None:
    gate[1].lie = False
    keyed = with_keys(gate[0], {"ada-key-0123456789": "ada", "grace-key-0123456789": "grace"})
    async with keyed_clients(client, keyed) as make:
        ada, grace = make("ada-key-0123456789"), make("grace-key-0123456789")
        await under_review(ada, run_id)
        url = claim_url(run_id, "s1c1", "strike")
        assert code(await grace.post(url, json={"struck_by": "ada"})) == (404, "run_not_found")
        resp = await ada.post(url, json={"struck_by": "mallory", "request_id": "k"})
        assert resp.status_code == 200, resp.text
        await ada.post(f"{RUNS}/{run_id}/cancel")
    events = await events_of(client, run_id, "ada")
    assert [e.data["by"] for e in events if e.type == "claim_struck"] == ["ada"]


async def test_cli_strikes_and_finds(
    client: Client,
    gate: tuple[Settings, ClaimsWriter],
    api: httpx.AsyncClient,
    llm: FakeLLM,
    run_id: str,
) -> None:
    gate[1].lie = False
    await under_review(api, run_id)
    served = await asyncio.to_thread(ThreadedApi(gate[0].model_copy(update=QUICK_STREAMS)).start)
    try:
        cli = Cli(served.url)
        ok(
            await cli("claims", "strike", run_id, "s1c1", "--reason", "off topic"),
            f"struck claim s1c1 from the report of run {run_id}",
        )
        one_line_error(
            await cli("claims", "strike", run_id, "s1c1"), 3, "the API refused: unknown_claim"
        )
        ok(
            await cli("claims", "find-source", run_id, "s2c1"),
            f"run {run_id} searches for a source for claim s2c1",
        )
        one_line_error(
            await cli("claims", "find-source", run_id, "s2c1"),
            3,
            "the API refused: nothing_pending",
        )
        struck = [e.data for e in await events_of(client, run_id) if e.type == "claim_struck"]
        assert [(d["claim_id"], d["reason"]) for d in struck] == [("s1c1", "off topic")]
    finally:
        await asyncio.to_thread(served.stop)
        await api.post(f"{RUNS}/{run_id}/cancel")
