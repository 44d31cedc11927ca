"""Payload encryption end to end: ciphertext on the Temporal server, plain text through the API.

A worker and an API built from settings with `payload_key` (exactly as in production, through
`codec.data_converter`) run a research run on the scripted LLM. The run's history, fetched raw by
a client without the codec, must hold only encrypted payloads and never the question; the API
must read it all back in plain text; and the codec endpoint the Web UI uses must round-trip.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from google.protobuf.message import Message
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from api.main import create_app
from codec import data_converter
from codec.encryption import ENCODING, KEY_ID_METADATA, PayloadKeyError, key_id
from domain.run import RunOptions
from domain.state import ResearchInput
from runtime.temporal import connect
from settings import Settings
from stack.services import codec_endpoint
from stack.temporal_server import TemporalDevServer
from tests.fakes.llm_server import FakeLLM
from tests.helpers.frontends import RUNS, pending, poll
from worker import build_activities, build_worker
from workflows.research import ResearchWorkflow
from workflows.search_attributes import research_workflow_id

KEY = base64.b64encode(os.urandom(32)).decode()
NEW_KEY = base64.b64encode(os.urandom(32)).decode()
QUESTION = "How do flywheels store grid energy for the Zanzibar microgrid?"
SECRET_WORD = b"Zanzibar"
# Never encrypted, by design: search attributes must stay readable for visibility queries, and
# headers carry the trace context.
PLAIN_FIELDS = frozenset({"search_attributes", "header"})
# The marker `workflow.patched()` records: written by the SDK's core, holding a change id.
PATCH_MARKER = "core_patch"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
def enc_settings(settings: Settings) -> Settings:
    # Its own task queue: the session's worker (no key) must never pick up an encrypted run.
    return settings.model_copy(
        update={"payload_key": SecretStr(KEY), "task_queue": "research-encrypted"}
    )


@pytest.fixture
async def enc_worker(enc_settings: Settings, llm: FakeLLM) -> AsyncIterator[Client]:
    """A worker connected the production way (`runtime.temporal.connect`), hence with the codec."""
    enc_client = await connect(enc_settings, attempts=1)
    activities = await asyncio.to_thread(build_activities, enc_settings)
    async with build_worker(enc_client, enc_settings, activities):
        yield enc_client


@pytest.fixture
async def enc_api(enc_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    # No dependency override: the app makes its own Temporal client, with the codec.
    transport = httpx.ASGITransport(app=create_app(enc_settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        yield http


def payloads_in(message: Message, path: str = "") -> Iterator[tuple[str, Payload]]:
    """Every Payload inside a proto message with where it is, except in fields plain by design."""
    for field, value in message.ListFields():
        if field.message_type is None or field.name in PLAIN_FIELDS:
            continue
        if isinstance(value, Message):
            items: Any = [value]
        elif field.message_type.GetOptions().map_entry:
            items = value.values()
        else:
            items = value
        for item in items:
            if isinstance(item, Payload):
                yield f"{path}.{field.name}", item
            elif isinstance(item, Message):
                yield from payloads_in(item, f"{path}.{field.name}")


async def raw_history(client: Client, workflow_id: str) -> tuple[bytes, list[tuple[str, Payload]]]:
    """The history's bytes as the server keeps them, and its payloads (the run's input first)."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    raw = b"".join(event.SerializeToString() for event in history.events)
    started = history.events[0].workflow_execution_started_event_attributes
    rest = [
        item
        for event in history.events
        if event.marker_recorded_event_attributes.marker_name != PATCH_MARKER
        for item in payloads_in(event, EventType.Name(event.event_type))
    ]
    return raw, [("input", started.input.payloads[0]), *rest]


async def test_history_is_ciphertext_while_the_api_reads_plain_text(
    client: Client,
    settings: Settings,
    enc_settings: Settings,
    enc_worker: Client,
    enc_api: httpx.AsyncClient,
    llm: FakeLLM,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    # One failed attempt, so the history holds an error message (the retry's `last_failure`).
    llm.reset(failures={"QuestionsDraft": [500]})
    body = {"question": QUESTION, "options": {"depth": 1, "breadth": 2}}
    resp = await enc_api.post(RUNS, json=body)
    assert resp.status_code == 202, resp.text
    run_id = resp.json()["run_id"]
    await poll(enc_api, run_id, pending("clarification"))
    resp = await enc_api.post(f"{RUNS}/{run_id}/clarification", json={"skip": True})
    assert resp.status_code == 200, resp.text
    await poll(enc_api, run_id, pending("report"))
    resp = await enc_api.post(f"{RUNS}/{run_id}/acceptance", json={"accepted": True})
    assert resp.status_code == 200, resp.text
    final = await poll(enc_api, run_id, lambda v: v["status"].startswith("completed"))

    # The API (with the codec) reads plain values: the live view, the memo behind the list.
    assert final["question"] == QUESTION and final["report_ref"]
    listed = await enc_api.get(RUNS, params={"page_size": 200})
    assert {"run_id": run_id, "question": QUESTION}.items() <= next(
        r for r in listed.json()["runs"] if r["run_id"] == run_id
    ).items()

    # The server (read by a client without the codec) holds only ciphertext.
    handle = client.get_workflow_handle(research_workflow_id(run_id))
    raw, payloads = await raw_history(client, handle.id)
    assert SECRET_WORD not in raw
    assert len(payloads) > 10  # inputs, results, memo, summaries, update args: all of them
    assert [path for path, p in payloads if p.metadata["encoding"] != ENCODING] == []
    assert {p.metadata[KEY_ID_METADATA].decode() for _, p in payloads} == {
        key_id(base64.b64decode(KEY))
    }
    failures = [
        e.activity_task_started_event_attributes.last_failure
        for e in (await handle.fetch_history()).events
        if e.activity_task_started_event_attributes.HasField("last_failure")
    ]
    assert failures and {f.message for f in failures} == {"Encoded failure"}
    assert b"injected 500" not in raw  # the provider's message is inside the ciphertext
    desc = await handle.describe()
    memo = desc.raw_description.workflow_execution_info.memo
    assert memo.fields and SECRET_WORD not in memo.SerializeToString()

    # The codec endpoint the Web UI calls turns the run's input, as stored, back into plain text.
    first = payloads[0][1]
    wire = {"metadata": {k: b64(v) for k, v in first.metadata.items()}, "data": b64(first.data)}
    resp = await enc_api.post("/codec/decode", json={"payloads": [wire]})
    assert resp.status_code == 200, resp.text
    assert QUESTION.encode() in base64.b64decode(resp.json()["payloads"][0]["data"])

    # An API without the key (another deployment on this namespace, or a key dropped too soon)
    # still lists the run, from its search attributes: once, one such run made GET /runs a 500.
    async with _api(settings) as plain_api:
        resp = await plain_api.get(RUNS, params={"page_size": 200})
        assert resp.status_code == 200, resp.text
        row = next(r for r in resp.json()["runs"] if r["run_id"] == run_id)
        assert row["question"] is None and row["status"] == final["status"]
        # Its own view cannot be read: a clear 502 that names the cause, never a 500.
        resp = await plain_api.get(f"{RUNS}/{run_id}")
        assert resp.status_code == 502, resp.text
        assert resp.json()["error_code"] == "payload_undecodable"

    assert KEY not in caplog.text  # the key is never logged, not even at DEBUG


async def test_the_same_run_unencrypted_shows_its_question(client: Client) -> None:
    """The control for the check above: without the codec, the question is right there."""
    run_id = f"plain-{os.urandom(4).hex()}"
    handle = await client.start_workflow(
        ResearchWorkflow.run,
        ResearchInput(run_id=run_id, question=QUESTION, options=RunOptions()),
        id=research_workflow_id(run_id),
        task_queue="research-nobody-polls",
    )
    try:
        raw, payloads = await raw_history(client, handle.id)
        assert SECRET_WORD in raw
        assert ENCODING not in {p.metadata.get("encoding") for _, p in payloads}
    finally:
        await handle.terminate("control run")


async def test_codec_endpoint_round_trips_and_rotates(
    settings: Settings, enc_settings: Settings, enc_api: httpx.AsyncClient
) -> None:
    plain = {"metadata": {"encoding": b64(b"json/plain")}, "data": b64(b'"hello"')}
    resp = await enc_api.post("/codec/encode", json={"payloads": [plain]})
    assert resp.status_code == 200, resp.text
    sealed = resp.json()["payloads"][0]
    assert base64.b64decode(sealed["metadata"]["encoding"]) == ENCODING
    assert b"hello" not in base64.b64decode(sealed["data"])
    resp = await enc_api.post("/codec/decode", json={"payloads": [sealed, plain]})
    assert resp.status_code == 200 and resp.json()["payloads"] == [plain, plain]  # plain: as is

    # Rotation: the new key encrypts, the old one still decrypts; without it, a clear 422.
    rotated = enc_settings.model_copy(update={"payload_key": SecretStr(f"{NEW_KEY},{KEY}")})
    async with _api(rotated) as api:
        resp = await api.post("/codec/decode", json={"payloads": [sealed]})
        assert resp.status_code == 200 and resp.json()["payloads"] == [plain]
        resp = await api.post("/codec/encode", json={"payloads": [plain]})
        kid = base64.b64decode(resp.json()["payloads"][0]["metadata"][KEY_ID_METADATA])
        assert kid.decode() == key_id(base64.b64decode(NEW_KEY))
    async with _api(enc_settings.model_copy(update={"payload_key": SecretStr(NEW_KEY)})) as api:
        resp = await api.post("/codec/decode", json={"payloads": [sealed]})
        assert (resp.status_code, resp.json()["error_code"]) == (422, "undecryptable_payload")

    tampered = dict(sealed, data=b64(base64.b64decode(sealed["data"])[:-1] + b"\0"))
    resp = await enc_api.post("/codec/decode", json={"payloads": [tampered]})
    assert (resp.status_code, resp.json()["error_code"]) == (422, "undecryptable_payload")
    resp = await enc_api.post("/codec/decode", json={"payloads": [{"data": "not base64!"}]})
    assert resp.status_code == 422

    # The Web UI calls from its own origin: preflights from it pass, from elsewhere they do not.
    ui = f"http://127.0.0.1:{enc_settings.ui_port}"
    preflight = {"Access-Control-Request-Method": "POST"}
    preflight["Access-Control-Request-Headers"] = "content-type,x-namespace"
    resp = await enc_api.options("/codec/decode", headers={"Origin": ui, **preflight})
    assert resp.status_code == 200 and resp.headers["access-control-allow-origin"] == ui
    resp = await enc_api.options("/codec/decode", headers={"Origin": "http://evil", **preflight})
    assert "access-control-allow-origin" not in resp.headers
    resp = await enc_api.post("/codec/decode", json={"payloads": []}, headers={"Origin": ui})
    assert resp.headers["access-control-allow-origin"] == ui
    # The API's own routes stay same-origin.
    resp = await enc_api.get("/api/v1/health", headers={"Origin": ui})
    assert "access-control-allow-origin" not in resp.headers

    # Without a key there is no codec endpoint; with auth on it needs a key like any route.
    async with _api(settings) as api:
        assert (await api.post("/codec/decode", json={"payloads": []})).status_code == 404
    api_key = "codec-test-key-0123456789"
    guarded = enc_settings.model_copy(
        update={"api_keys": SecretStr(f'{{"{api_key}": "ops"}}'), "api_operators": ["ops"]}
    )
    async with _api(guarded) as api:
        assert (await api.post("/codec/decode", json={"payloads": []})).status_code == 401
        auth = {"Authorization": f"Bearer {api_key}"}
        resp = await api.post("/codec/decode", json={"payloads": []}, headers=auth)
        assert resp.status_code == 200


def _api(settings: Settings) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(settings))
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1")


def test_without_a_key_nothing_changes_and_a_bad_key_stops_the_start(settings: Settings) -> None:
    # The recorded histories in tests/histories/ are replayed with pydantic_data_converter.
    assert data_converter(settings) is pydantic_data_converter
    for bad in ("c2hvcnQ=", "not base64 at all", f"{KEY},short"):
        with pytest.raises(PayloadKeyError) as info:
            create_app(settings.model_copy(update={"payload_key": SecretStr(bad)}))
        assert bad not in str(info.value)


def test_research_up_points_the_web_ui_at_the_codec(settings: Settings) -> None:
    assert codec_endpoint(settings) is None
    keyed = settings.model_copy(update={"payload_key": SecretStr(KEY), "api_host": "0.0.0.0"})
    assert codec_endpoint(keyed) == f"http://127.0.0.1:{keyed.api_port}/codec"
    server = TemporalDevServer(port=7999, ui_port=8999, ui_codec_endpoint=codec_endpoint(keyed))
    cmd = server.command()
    assert cmd[cmd.index("--ui-codec-endpoint") + 1] == codec_endpoint(keyed)
    assert "--ui-codec-endpoint" not in TemporalDevServer(port=7999, ui_port=8999).command()
