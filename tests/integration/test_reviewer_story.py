"""Issue 15's "done means" as one story, through the REST API on the dev server with the
scripted model: a reviewer who leaves a run waiting gets a signed reminder at their webhook,
edits the plan, accepts the report, downloads it as PDF and DOCX, and asks a follow-up that
reads none of the first run's pages again.

The wait here is a second of real time (`remind_after: PT1S`) so the story stays quick;
test_notifications.py proves the day-long case (`P1D`) on the server's skipped clock.
"""

from __future__ import annotations

import asyncio
import io
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import docx
import httpx
import pypdf
import pytest
from pydantic import SecretStr
from temporalio.client import Client

from api.deps import get_temporal_client
from api.main import create_app
from domain.plan import plan_lines, plan_text
from settings import Settings
from tests.fakes.llm_server import FakeLLM
from tests.fakes.webhook_receiver import Received, WebhookReceiver
from tests.helpers.frontends import FAST, RUNS, handle_of, pending, poll
from tests.integration.test_follow_ups import read_source_ids
from worker import build_activities, build_worker
from workflows.research import ResearchWorkflow

SECRET = "whsec-story"
QUESTION = "How is grid energy stored?"
ADDED = "Flywheel spinning reserve response times"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    stub = WebhookReceiver(SECRET, failures=0).start()
    yield stub
    stub.stop()


@pytest.fixture
async def api(
    client: Client, settings: Settings, receiver: WebhookReceiver
) -> AsyncIterator[httpx.AsyncClient]:
    """The API and a worker of its own, both with a signing secret and loopback webhooks
    allowed (the receiver is on 127.0.0.1)."""
    mine = settings.model_copy(
        update={
            "task_queue": f"research-story-{uuid.uuid4().hex[:8]}",
            "notify_secret": SecretStr(SECRET),
            "notify_allow_private": True,
        }
    )
    app = create_app(mine)
    app.dependency_overrides[get_temporal_client] = lambda: client
    activities = await asyncio.to_thread(build_activities, mine)
    transport = httpx.ASGITransport(app=app)
    async with (
        build_worker(client, mine, activities),
        httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http,
    ):
        yield http


async def first_reminder(receiver: WebhookReceiver, path: str, within: float = 20) -> Received:
    deadline = time.monotonic() + within
    while not (found := [r for r in receiver.accepted(path) if r.body["type"] == "reminder"]):
        assert time.monotonic() < deadline, f"no reminder at {path}: {receiver.received}"
        await asyncio.sleep(0.1)
    return found[0]


def flat(text: str) -> str:
    """Whitespace collapsed, as a PDF's lines wrap where its layout wants."""
    return " ".join(text.split())


async def download(api: httpx.AsyncClient, run_id: str, fmt: str, media: str) -> bytes:
    resp = await api.get(f"{RUNS}/{run_id}/report", params={"format": fmt})
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith(media)
    return resp.content


async def test_reviewer_story(
    api: httpx.AsyncClient, client: Client, receiver: WebhookReceiver, llm: FakeLLM, run_id: str
) -> None:
    hook = f"{receiver.url}/reviewer"
    options: dict[str, Any] = {
        **FAST,
        "clarify": False,
        "require_plan_approval": True,
        "remind_after": "PT1S",
        "notify": {"urls": [hook], "events": ["input_awaited", "reminder", "finished"]},
    }
    body = {"question": QUESTION, "run_id": run_id, "options": options}
    assert (resp := await api.post(RUNS, json=body)).status_code == 202, resp.text

    # Nobody looks at the plan: a reminder reaches the reviewer's webhook, signed, while the
    # plan still waits.
    drafted = plan_lines((await poll(api, run_id, pending("plan")))["plan"])
    reminder = await first_reminder(receiver, "/reviewer")
    assert reminder.signed and reminder.body["run_id"] == run_id
    assert reminder.body["data"]["kind"] == "plan"
    view = await poll(api, run_id, pending("plan"))
    assert view["progress"]["reminders_sent"] >= 1

    # They edit the plan: the first item kept, one added; the run researches that plan.
    edited = [drafted[0], ADDED]
    decision = {"accepted": True, "plan": edited, "decided_by": "grace"}
    resp = await api.post(f"{RUNS}/{run_id}/acceptance", json=decision)
    assert resp.status_code == 200 and resp.json()["subject"] == "plan", resp.text
    view = await poll(api, run_id, pending("report"))
    assert view["plan"] == plan_text(edited)

    # The report review comes; they accept it.
    resp = await api.post(f"{RUNS}/{run_id}/acceptance", json={"accepted": True})
    assert resp.status_code == 200 and resp.json()["subject"] == "report", resp.text
    final = await poll(api, run_id, lambda v: v["stage"] == "finished")
    assert final["status"] == "completed", final
    events = (await handle_of(client, run_id).query(ResearchWorkflow.get_events, 0)).events
    assert [e.data["by"] for e in events if e.type == "plan_edited"] == ["grace"]

    # They download it as PDF and as DOCX: the claims, their citations, the sources.
    report = (await api.get(f"{RUNS}/{run_id}/report", params={"format": "json"})).json()
    claim = report["claims"][0]
    assert claim["citations"], claim
    pdf = await download(api, run_id, "pdf", "application/pdf")
    assert pdf.startswith(b"%PDF-")
    text = flat("\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages))
    assert flat(claim["text"]) in text, text
    assert f"[{claim['citations'][0]}]" in text and re.search(r"\[\d+\]", text)
    word = docx.Document(io.BytesIO(await download(api, run_id, "docx", "application/vnd")))
    headings = [p.text for p in word.paragraphs if p.style.name.startswith("Heading")]
    # The item the reviewer added is a section of the report: the edited plan was followed.
    assert ADDED in headings and headings[-1] == "Sources", headings
    assert any(flat(claim["text"]) in flat(p.text) for p in word.paragraphs)

    # They ask a follow-up: a new run, linked, seeded with what the first run read.
    first_read = await read_source_ids(client, run_id, None)
    assert first_read
    follow = f"{run_id}-more"
    ask = {
        "question": "And what does it cost?",
        "run_id": follow,
        "options": {**FAST, "clarify": False, "require_acceptance": False},
    }
    resp = await api.post(f"{RUNS}/{run_id}/followups", json=ask)
    assert resp.status_code == 202, resp.text
    view = await poll(api, follow, lambda v: v["stage"] == "finished")
    assert view["status"].startswith("completed") and view["follow_up_of"] == run_id, view
    assert view["progress"]["sources_reused"] == len(first_read) > 0
    again = await read_source_ids(client, follow, None)
    assert not set(again) & set(first_read), again

    # The webhook heard the story's end too, each notification once.
    finished = [r for r in receiver.accepted("/reviewer") if r.body["type"] == "finished"]
    deadline = time.monotonic() + 10
    while not finished and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        finished = [r for r in receiver.accepted("/reviewer") if r.body["type"] == "finished"]
    assert [r.body["run_id"] for r in finished] == [run_id]
    ids = [r.event_id for r in receiver.accepted("/reviewer")]
    assert len(ids) == len(set(ids)), ids
