"""Abuse limits: rate per key (429), body size (413), field bounds (422), active runs per owner.

Real dev server and worker; the app is `create_app` with the limits set in its settings.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.worker import Worker

from api.deps import get_temporal_client
from api.limits import RateLimiter, active_runs_query
from api.main import create_app
from settings import Settings
from tests.helpers.frontends import FAST, RUNS, pending, poll
from tests.live import ThreadedApi

SUFFIX = uuid.uuid4().hex[:8]
ADA, GRACE = f"ada-{SUFFIX}", f"grace-{SUFFIX}"
ADA_KEY, GRACE_KEY = f"ada-{secrets.token_urlsafe(24)}", f"grace-{secrets.token_urlsafe(24)}"
KEYS = SecretStr(json.dumps({ADA_KEY: ADA, GRACE_KEY: GRACE}))
SMALL_BODY = 4096


def build(client: Client, settings: Settings, **limits: Any) -> Any:
    app = create_app(settings.model_copy(update=limits))
    app.dependency_overrides[get_temporal_client] = lambda: client
    return app


def http_for(app: Any, key: str | None = None) -> httpx.AsyncClient:
    headers = {"X-API-Key": key} if key else {}
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1", headers=headers)


def error_code(resp: httpx.Response) -> str:
    body = resp.json()
    assert set(body) == {"error_code", "message", "details", "request_id"}, body
    return body["error_code"]


@pytest.fixture
async def plain_api(client: Client, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """Auth off, the default limits."""
    async with http_for(build(client, settings)) as http:
        yield http


@pytest.fixture
async def small_api(client: Client, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """Auth off, a 4 KiB body limit."""
    async with http_for(build(client, settings, api_max_body_bytes=SMALL_BODY)) as http:
        yield http


# -- rate limit --------------------------------------------------------------------------------


def test_token_bucket_refills_at_its_rate() -> None:
    now = [100.0]
    bucket = RateLimiter(rate=2.0, burst=3, clock=lambda: now[0])
    assert [bucket.take("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take("k") == pytest.approx(0.5)  # one token back in 1/rate seconds
    assert bucket.take("other") == 0.0  # buckets are per caller
    now[0] += 0.5
    assert bucket.take("k") == 0.0
    now[0] += 60
    assert [bucket.take("k") for _ in range(4)][-1] > 0  # refill stops at the burst


async def test_rate_limit_is_per_key_with_retry_after(client: Client, settings: Settings) -> None:
    # One token per 100 s: the test cannot refill by being slow.
    app = build(client, settings, api_keys=KEYS, api_rate_limit_per_s=0.01, api_rate_limit_burst=3)
    async with http_for(app, ADA_KEY) as ada, http_for(app, GRACE_KEY) as grace:
        for _ in range(3):
            assert (await ada.get("/api/v1/workflows")).status_code == 200
        limited = await ada.get("/api/v1/workflows")
        assert limited.status_code == 429 and error_code(limited) == "rate_limited"
        retry_after = int(limited.headers["Retry-After"])
        assert 1 <= retry_after <= 100
        assert limited.json()["details"]["retry_after_s"] == retry_after
        assert (await ada.post(RUNS, json={"question": "q"})).status_code == 429
        # Another key has its own bucket; probes are never limited.
        assert (await grace.get("/api/v1/workflows")).status_code == 200
        assert (await ada.get("/api/v1/health")).status_code == 200
    async with http_for(app, "a-wrong-key-that-is-long-enough") as guesser:
        # Failed keys spend their address's bucket: guessing is throttled as well.
        statuses = [(await guesser.get(RUNS)).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]


# -- body size ---------------------------------------------------------------------------------


async def test_body_over_the_limit_is_413_by_content_length(small_api: httpx.AsyncClient) -> None:
    resp = await small_api.post(RUNS, json={"question": "x" * SMALL_BODY})
    assert resp.status_code == 413 and error_code(resp) == "payload_too_large"
    assert resp.json()["details"] == {"limit": SMALL_BODY}
    # Right at the limit is still read, and judged on its content (the unknown field: 422).
    prefix = '{"question": "q", "pad": "'
    body = prefix + "z" * (SMALL_BODY - len(prefix) - 2) + '"}'
    headers = {"content-type": "application/json"}
    at_limit = await small_api.post(RUNS, content=body, headers=headers)
    assert len(body) == SMALL_BODY and at_limit.status_code == 422, at_limit.text
    assert "pad" in at_limit.json()["details"]["errors"][0]["loc"]


async def test_chunked_body_over_the_limit_is_413(small_api: httpx.AsyncClient) -> None:
    sent: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"question": "'
        for _ in range(10):
            sent.append(1024)
            yield b"x" * 1024
        yield b'"}'

    request = small_api.build_request(
        "POST", RUNS, content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in request.headers  # streamed: nothing declared up front
    resp = await small_api.send(request)
    assert resp.status_code == 413 and error_code(resp) == "payload_too_large", resp.text
    assert sum(sent) <= SMALL_BODY + 1024  # stopped reading soon after the limit


@pytest.fixture(scope="module")
def small_body_server(settings: Settings) -> Iterator[ThreadedApi]:
    api = ThreadedApi(settings.model_copy(update={"api_max_body_bytes": SMALL_BODY})).start()
    yield api
    api.stop()


async def test_413_over_a_real_socket_with_and_without_content_length(
    small_body_server: ThreadedApi,
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(64):
            yield b"x" * 1024

    async with httpx.AsyncClient(base_url=small_body_server.url) as http:
        declared = await http.post(RUNS, content=b"x" * (SMALL_BODY + 1))
        chunked = await http.post(RUNS, content=chunks())
    for resp in (declared, chunked):
        assert resp.status_code == 413 and error_code(resp) == "payload_too_large", resp.text


# -- field bounds ------------------------------------------------------------------------------

LONG = "x" * 4001
TOO_MANY_ANSWERS = {f"q{i}": "a" for i in range(21)}


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("", {"question": LONG}, "question"),
        ("", {"question": "   "}, "question"),
        ("", {"question": "q", "options": {"max_tokens": 10**9}}, "max_tokens"),
        ("", {"question": "q", "options": {"max_cost_usd": 1e6}}, "max_cost_usd"),
        ("", {"question": "q", "options": {"sources": ["s" * 65]}}, "sources"),
        ("", {"question": "q", "options": {"sources": ["local"] * 11}}, "sources"),
        ("", {"question": "q", "options": {"breadth": 11}}, "breadth"),
        ("", {"question": "q", "options": {"max_questions": 11}}, "max_questions"),
        ("", {"question": "q", "options": {"input_timeout": "P400D"}}, "input_timeout"),
        ("", {"question": "q", "created_by": "c" * 201}, "created_by"),
        ("/r1/clarification", {"answers": TOO_MANY_ANSWERS}, "answers"),
        ("/r1/clarification", {"answers": {"q" * 65: "a"}}, "answers"),
        ("/r1/clarification", {"answers": {"q1": LONG}}, "answers"),
        ("/r1/acceptance", {"accepted": False, "comment": "c" * 20_001}, "comment"),
        ("/r1/acceptance", {"accepted": True, "budget": {"max_tokens": 10**9}}, "max_tokens"),
        ("/r1/acceptance", {"accepted": True, "request_id": "r" * 201}, "request_id"),
        ("/r1/stop", {"reason": "r" * 2001}, "reason"),
    ],
)
async def test_bounds_are_422(
    plain_api: httpx.AsyncClient, path: str, body: dict[str, Any], field: str
) -> None:
    resp = await plain_api.post(f"{RUNS}{path}", json=body)
    assert resp.status_code == 422 and error_code(resp) == "invalid_request", resp.text
    assert any(field in e["loc"] for e in resp.json()["details"]["errors"]), resp.text


async def test_approval_bounds_are_422(plain_api: httpx.AsyncClient) -> None:
    for body, field in (
        ({"title": "t" * 501}, "title"),
        ({"title": "t", "content": "c" * 100_001}, "content"),
        ({"title": "t", "approval_id": "../etc"}, "approval_id"),
        ({"approval_id": "a1", "title": "t"} | {"decided_by": "x"}, "decided_by"),
    ):
        resp = await plain_api.post("/api/v1/approvals", json=body)
        assert resp.status_code == 422 and error_code(resp) == "invalid_request", resp.text
        assert any(field in e["loc"] for e in resp.json()["details"]["errors"]), resp.text
    long_comment = {"accepted": False, "comment": "c" * 20_001}
    resp = await plain_api.post("/api/v1/approvals/a1/decision", json=long_comment)
    assert resp.status_code == 422 and error_code(resp) == "invalid_request", resp.text


# -- active runs per owner ---------------------------------------------------------------------


def test_active_runs_query_counts_running_runs_of_one_owner() -> None:
    query = active_runs_query("ResearchWorkflow", ADA)
    assert "ExecutionStatus = 'Running'" in query and f"ResearchOwner = '{ADA}'" in query
    assert "ResearchOwner" not in active_runs_query("ResearchWorkflow", None)
    with pytest.raises(ValueError):
        active_runs_query("ResearchWorkflow", "x' OR 'a' = 'a")


async def test_active_runs_are_capped_per_owner(
    client: Client, settings: Settings, worker: Worker
) -> None:
    app = build(client, settings, api_keys=KEYS, api_max_active_runs=2)
    started: list[tuple[httpx.AsyncClient, str]] = []

    async def start(http: httpx.AsyncClient) -> httpx.Response:
        run_id = f"t-{uuid.uuid4().hex[:12]}"
        body = {"question": "How is grid energy stored?", "run_id": run_id, "options": FAST}
        resp = await http.post(RUNS, json=body)
        if resp.status_code == 202:
            started.append((http, run_id))
        return resp

    async with http_for(app, ADA_KEY) as ada, http_for(app, GRACE_KEY) as grace:
        try:
            for _ in range(2):
                assert (await start(ada)).status_code == 202
            for _, run_id in started:
                await poll(ada, run_id, pending("clarification"))
            over = await start(ada)
            assert over.status_code == 429 and error_code(over) == "too_many_active_runs"
            assert over.json()["details"] == {"active_runs": 2, "limit": 2}
            assert int(over.headers["Retry-After"]) >= 1
            # The cap is per owner.
            assert (await start(grace)).status_code == 202
            # Cancelling one frees a slot (once visibility sees the run closed).
            assert (await ada.post(f"{RUNS}/{started[0][1]}/cancel")).status_code == 202
            for _ in range(80):
                if (resp := await start(ada)).status_code == 202:
                    break
                assert resp.status_code == 429
                await asyncio.sleep(0.25)
            else:
                raise AssertionError("the cancelled run never freed its slot")
        finally:
            for http, run_id in started:
                await http.post(f"{RUNS}/{run_id}/cancel")
