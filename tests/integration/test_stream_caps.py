"""One key cannot multiply load (issue 13, item 6): open event streams are capped per key, and
with keys on the rate limit, the active-run cap and a pending-approval cap are on by default.

Real dev server and worker; a uvicorn server in a thread, since streams must stay open.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack

import httpx
import pytest
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.worker import Worker
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from api.limits import (
    KEYED_MAX_ACTIVE_RUNS,
    KEYED_MAX_PENDING_APPROVALS,
    KEYED_RATE_PER_S,
    max_active_runs,
    max_pending_approvals,
    rate_limit_per_s,
)
from api.runs_service import approval_workflow_id_for
from settings import Settings
from tests.live import ThreadedApi

RUNS = "/api/v1/runs"
APPROVALS = "/api/v1/approvals"
OWNER = f"streamer-{uuid.uuid4().hex[:8]}"
KEY = secrets.token_urlsafe(24)
CAP = 2


@pytest.fixture(scope="module")
def capped_api(settings: Settings) -> Iterator[ThreadedApi]:
    keyed = settings.model_copy(
        update={
            "api_keys": SecretStr(json.dumps({KEY: OWNER})),
            "api_max_streams_per_key": CAP,
            "api_max_pending_approvals": 1,
        }
    )
    api = ThreadedApi(keyed).start()
    yield api
    api.stop()


@pytest.fixture
async def http(capped_api: ThreadedApi) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"X-API-Key": KEY}
    async with httpx.AsyncClient(base_url=capped_api.url, headers=headers, timeout=30) as http:
        yield http


async def started_run(http: httpx.AsyncClient) -> str:
    run_id = f"streams-{uuid.uuid4().hex[:10]}"
    body = {"question": "How is grid energy stored?", "run_id": run_id}
    response = await http.post(RUNS, json={**body, "options": {"depth": 1, "breadth": 2}})
    assert response.status_code == 202, response.text
    return run_id


async def test_open_streams_are_capped_per_key(
    http: httpx.AsyncClient, capped_api: ThreadedApi, worker: Worker
) -> None:
    run_id = await started_run(http)
    events = f"{RUNS}/{run_id}/events"
    try:
        async with AsyncExitStack() as held:
            for _ in range(CAP):
                stream = await held.enter_async_context(http.stream("GET", events))
                assert stream.status_code == 200
            refused = await http.get(events)
            assert refused.status_code == 429, refused.text
            assert refused.json()["error_code"] == "too_many_streams"
            assert refused.json()["details"] == {"open_streams": CAP, "limit": CAP}
            ws_url = f"ws://127.0.0.1:{capped_api.port}{events.removesuffix('/events')}/ws"
            async with ws_connect(ws_url, additional_headers={"X-API-Key": KEY}) as ws:
                error = json.loads(await ws.recv())
                with pytest.raises(ConnectionClosed):
                    await ws.recv()
            assert error["error_code"] == "too_many_streams"
            assert ws.close_code == 1008
        # Closed by the client: the slots come back once the server notices.
        deadline = time.monotonic() + 10
        while True:
            async with http.stream("GET", events) as again:
                if again.status_code == 200 or time.monotonic() > deadline:
                    break
            await asyncio.sleep(0.2)
        assert again.status_code == 200
    finally:
        await http.post(f"{RUNS}/{run_id}/cancel")


async def test_pending_approvals_are_capped_per_owner(
    http: httpx.AsyncClient, client: Client
) -> None:
    first_id = f"cap-{uuid.uuid4().hex[:10]}"
    created: list[str] = []
    try:
        first = await http.post(APPROVALS, json={"title": "one", "approval_id": first_id})
        assert first.status_code == 202, first.text
        created.append(first_id)
        # Visibility counts the first a moment after it started.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            query = f"WorkflowId = '{approval_workflow_id_for(first_id, OWNER)}'"
            if (await client.count_workflows(query)).count:
                break
            await asyncio.sleep(0.2)
        second_id = f"cap-{uuid.uuid4().hex[:10]}"
        second = await http.post(APPROVALS, json={"title": "two", "approval_id": second_id})
        if second.status_code == 202:
            created.append(second_id)
        assert second.status_code == 429, second.text
        assert second.json()["error_code"] == "too_many_pending_approvals"
    finally:
        for approval_id in created:
            workflow_id = approval_workflow_id_for(approval_id, OWNER)
            await client.get_workflow_handle(workflow_id).terminate("test")


def test_limits_are_on_by_default_with_keys() -> None:
    open_settings = Settings(api_keys=SecretStr(""))
    keyed = Settings(api_keys=SecretStr(json.dumps({KEY: OWNER})))
    assert rate_limit_per_s(open_settings) is None
    assert max_active_runs(open_settings) is None and max_pending_approvals(open_settings) is None
    assert rate_limit_per_s(keyed) == KEYED_RATE_PER_S
    assert max_active_runs(keyed) == KEYED_MAX_ACTIVE_RUNS
    assert max_pending_approvals(keyed) == KEYED_MAX_PENDING_APPROVALS
    chosen = keyed.model_copy(update={"api_rate_limit_per_s": 5.0, "api_max_active_runs": 3})
    assert rate_limit_per_s(chosen) == 5.0 and max_active_runs(chosen) == 3
