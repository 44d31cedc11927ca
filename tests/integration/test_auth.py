"""API keys and isolation: who may call, and that an owner sees only their own runs.

Real dev server and worker; the app is `create_app` with keys in its settings. Two owners: ada
holds a plain key, grace a key configured only by its SHA-256.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.worker import Worker
from typer.testing import CliRunner
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from api.auth import AuthConfigError, KeyRing, check_exposure, is_loopback, presented_key
from api.deps import get_temporal_client
from api.main import create_app
from api.runs_service import run_workflow_id
from api.visibility import runs_query
from cli.client import ApiClient
from cli.main import app as cli_app
from settings import Settings
from tests.helpers.frontends import FAST, RUNS, code, pending, poll
from tests.helpers.stack import free_port
from tests.live import ThreadedApi
from workflows.search_attributes import RESEARCH_OWNER

SUFFIX = uuid.uuid4().hex[:8]
# Unique per test session: the dev server is shared, and lists filter by owner.
ADA, GRACE = f"ada-{SUFFIX}", f"grace-{SUFFIX}"
ADA_KEY, GRACE_KEY = f"ada-{secrets.token_urlsafe(24)}", f"grace-{secrets.token_urlsafe(24)}"
KEYS = {ADA_KEY: ADA, "sha256:" + hashlib.sha256(GRACE_KEY.encode()).hexdigest(): GRACE}
NEVER = "never-started-run"


def with_keys(settings: Settings, **extra: Any) -> Settings:
    return settings.model_copy(update={"api_keys": SecretStr(json.dumps(KEYS)), **extra})


@pytest.fixture
async def app_factory(client: Client, settings: Settings) -> AsyncIterator[Any]:
    """Builds ASGI clients on one authenticated app; `key=None` sends none."""
    app = create_app(with_keys(settings))
    app.dependency_overrides[get_temporal_client] = lambda: client
    opened: list[httpx.AsyncClient] = []

    def make(key: str | None, header: str = "bearer") -> httpx.AsyncClient:
        headers = {}
        if key is not None:
            headers = (
                {"Authorization": f"Bearer {key}"} if header == "bearer" else {"X-API-Key": key}
            )
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1", headers=headers
        )
        opened.append(http)
        return http

    yield make
    for http in opened:
        await http.aclose()


def error_body(resp: httpx.Response) -> dict[str, Any]:
    body = resp.json()
    assert set(body) == {"error_code", "message", "details", "request_id"}, body
    assert body["request_id"] == resp.headers["X-Request-ID"]
    return {k: v for k, v in body.items() if k != "request_id"}


# -- who may call ------------------------------------------------------------------------------


async def test_missing_or_bad_key_is_401_with_the_standard_body(app_factory) -> None:
    for http, message in (
        (app_factory(None), "an API key is required"),
        (app_factory("not-a-key-of-anyone-at-all"), "invalid API key"),
        (app_factory(ADA_KEY + "x"), "invalid API key"),
    ):
        for method, path in (
            ("GET", RUNS),
            ("POST", RUNS),
            ("GET", f"{RUNS}/{NEVER}"),
            ("GET", "/api/v1/workflows"),
            ("GET", "/api/v1/no-such-route"),
        ):
            resp = await http.request(method, path, json={"question": "q"})
            assert resp.status_code == 401, (method, path, resp.text)
            assert error_body(resp) == {
                "error_code": "unauthorized",
                "message": message,
                "details": {},
            }
            assert resp.headers["WWW-Authenticate"].startswith("Bearer ")


async def test_a_key_works_as_bearer_or_x_api_key_and_open_paths_need_none(
    app_factory,
) -> None:
    for http in (app_factory(ADA_KEY), app_factory(ADA_KEY, "x-api-key"), app_factory(GRACE_KEY)):
        resp = await http.get("/api/v1/workflows")
        assert resp.status_code == 200, resp.text
    anonymous = app_factory(None)
    for path in (
        "/api/v1/health",
        "/api/v1/ready",
        "/api/v1/metrics",
        "/",
        "/runs/x",
        "/static/common.js",
        "/openapi.json",
    ):
        resp = await anonymous.get(path)
        assert resp.status_code == 200, (path, resp.text)


def test_keys_are_hashed_and_headers_parsed() -> None:
    ring = KeyRing(KEYS)
    assert ring.principal(ADA_KEY).owner == ADA
    assert ring.principal(GRACE_KEY).owner == GRACE
    # The hashed entry is not itself a key.
    assert ring.principal(next(k for k in KEYS if k.startswith("sha256:"))) is None
    assert ring.principal(ADA_KEY).key_id == hashlib.sha256(ADA_KEY.encode()).hexdigest()[:12]

    def scope(*headers: tuple[str, str]) -> dict[str, Any]:
        return {"type": "http", "headers": [(k.encode(), v.encode()) for k, v in headers]}

    assert presented_key(scope(("authorization", "Bearer abc"))) == "abc"
    assert presented_key(scope(("authorization", "bearer  abc "))) == "abc"
    assert presented_key(scope(("x-api-key", "xyz"))) == "xyz"
    assert presented_key(scope(("authorization", "Basic abc"))) is None


def test_settings_refuse_weak_keys_and_odd_owners_without_echoing_the_key() -> None:
    for keys in ({"short-key": "ada"}, {ADA_KEY: "ada' OR 1=1"}, {"sha256:abc": "ada"}):
        with pytest.raises(ValueError) as err:
            Settings(api_keys=keys)
        assert ADA_KEY not in str(err.value) and "short-key" not in str(err.value)
    assert "ada" not in repr(Settings(api_keys={ADA_KEY: "ada"}))


# -- auth off: loopback only ---------------------------------------------------------------------


def test_auth_off_refuses_a_non_loopback_host_unless_overridden(settings: Settings) -> None:
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        assert is_loopback(host)
        check_exposure(settings.model_copy(update={"api_host": host}))
    for host in ("0.0.0.0", "::", "10.1.2.3", "api.example.com"):
        assert not is_loopback(host)
        open_wide = settings.model_copy(update={"api_host": host})
        with pytest.raises(AuthConfigError, match="RESEARCH_API_KEYS"):
            check_exposure(open_wide)
        check_exposure(with_keys(open_wide))
        check_exposure(open_wide.model_copy(update={"api_allow_unauthenticated_remote": True}))


async def test_auth_off_server_will_not_start_on_0000_and_says_so_on_loopback(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    wide = create_app(settings.model_copy(update={"api_host": "0.0.0.0"}))
    with pytest.raises(AuthConfigError, match="refusing to start"):
        async with wide.router.lifespan_context(wide):
            pass
    local = create_app(settings)
    with caplog.at_level(logging.INFO, logger="api.main"):
        async with local.router.lifespan_context(local):
            pass
    assert any("loopback clients only" in r.getMessage() for r in caplog.records), caplog.text


async def test_auth_off_answers_loopback_clients_only(client: Client, settings: Settings) -> None:
    async def get(app_settings: Settings, peer: str, path: str) -> httpx.Response:
        app = create_app(app_settings)
        app.dependency_overrides[get_temporal_client] = lambda: client
        transport = httpx.ASGITransport(app=app, client=(peer, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            return await http.get(path)

    remote = await get(settings, "203.0.113.7", RUNS)
    assert remote.status_code == 403 and error_body(remote)["error_code"] == "loopback_only"
    assert (await get(settings, "203.0.113.7", "/api/v1/health")).status_code == 200
    assert (await get(settings, "127.0.0.1", f"{RUNS}?page_size=1")).status_code == 200
    allowed = settings.model_copy(update={"api_allow_unauthenticated_remote": True})
    assert (await get(allowed, "203.0.113.7", f"{RUNS}?page_size=1")).status_code == 200


# -- two owners --------------------------------------------------------------------------------


async def start(http: httpx.AsyncClient, **body: Any) -> str:
    run_id = f"t-{uuid.uuid4().hex[:12]}"
    body = {"question": "How is grid energy stored?", "run_id": run_id, "options": FAST} | body
    resp = await http.post(RUNS, json=body)
    assert resp.status_code == 202, resp.text
    return run_id


async def test_another_owners_run_is_404_on_every_route(
    app_factory, client: Client, worker: Worker
) -> None:
    ada, grace = app_factory(ADA_KEY), app_factory(GRACE_KEY)
    # The body's created_by is not the owner: the key is.
    run_id = await start(ada, created_by=GRACE)
    await poll(ada, run_id, pending("clarification"))
    desc = await client.get_workflow_handle(run_workflow_id(run_id, ADA)).describe()
    assert desc.typed_search_attributes.get(RESEARCH_OWNER) == ADA

    routes: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", "", None),
        ("POST", "/clarification", {"skip": True}),
        ("POST", "/acceptance", {"accepted": True}),
        ("POST", "/stop", {"reason": "mine now"}),
        ("POST", "/cancel", None),
        ("GET", "/report", None),
        ("GET", "/sources", None),
        ("GET", "/events", None),
    ]
    for method, suffix, body in routes:
        theirs = await grace.request(method, f"{RUNS}/{run_id}{suffix}", json=body)
        missing = await grace.request(method, f"{RUNS}/{NEVER}{suffix}", json=body)
        assert theirs.status_code == 404, (suffix, theirs.text)
        # Same body as an id that never existed: ids cannot be probed.
        assert (
            error_body(theirs)
            == error_body(missing)
            == {
                "error_code": "run_not_found",
                "message": "no such run",
                "details": {},
            }
        ), suffix

    # None of grace's attempts touched the run; ada still drives it.
    view = await poll(ada, run_id, pending("clarification"))
    assert view["status"] == "awaiting_input" and view["progress"]["revisions"] == 0
    assert code(await ada.get(f"{RUNS}/{run_id}/report")) == (409, "run_not_finished")
    assert (await ada.post(f"{RUNS}/{run_id}/cancel")).status_code == 202


async def test_lists_hold_only_the_callers_runs_filtered_by_visibility(
    app_factory, client: Client, worker: Worker
) -> None:
    ada, grace = app_factory(ADA_KEY), app_factory(GRACE_KEY)
    ada_runs = {await start(ada), await start(ada)}
    grace_runs = {await start(grace)}

    async def listed(http: httpx.AsyncClient, want: set[str]) -> set[str]:
        # Page size 1: were the filter applied in Python after fetching, pages would come back
        # empty or short; from visibility every page holds exactly one of the caller's runs.
        seen: set[str] = set()
        for _ in range(60):
            seen, token = set(), None
            while True:
                params = {"page_size": 1} | ({"page_token": token} if token else {})
                page = (await http.get(RUNS, params=params)).json()
                assert len(page["runs"]) <= 1
                seen |= {r["run_id"] for r in page["runs"]}
                token = page.get("next_page_token")
                if not token:
                    break
            if want <= seen:
                return seen
            await asyncio.sleep(0.25)  # visibility is eventually consistent
        raise AssertionError(f"{want} not listed: {seen}")

    for http, own, owner, other in (
        (ada, ada_runs, ADA, grace_runs),
        (grace, grace_runs, GRACE, ada_runs),
    ):
        seen = await listed(http, own)
        assert not seen & other
        # Earlier tests' runs of the same owner may be listed too; nobody else's are.
        for run_id in seen:
            desc = await client.get_workflow_handle(run_workflow_id(run_id, owner)).describe()
            assert desc.typed_search_attributes.get(RESEARCH_OWNER) == owner
    assert "ResearchOwner = 'x'" in runs_query("ResearchWorkflow", owner="x")
    with pytest.raises(ValueError):
        runs_query("ResearchWorkflow", owner="x' OR 'a' = 'a")
    via_temporal = [w.id async for w in client.list_workflows(f"ResearchOwner = '{ADA}'")]
    assert {run_workflow_id(r, ADA) for r in ada_runs} <= set(via_temporal)
    for http, runs in ((ada, ada_runs), (grace, grace_runs)):
        for run_id in runs:
            await http.post(f"{RUNS}/{run_id}/cancel")


async def test_approvals_are_isolated_too(app_factory, worker: Worker) -> None:
    ada, grace = app_factory(ADA_KEY), app_factory(GRACE_KEY)
    resp = await ada.post("/api/v1/approvals", json={"title": "Ship it?", "requested_by": GRACE})
    assert resp.status_code == 202, resp.text
    url = resp.json()["status_url"]
    for method, suffix, body in (("GET", "", None), ("POST", "/decision", {"accepted": True})):
        theirs = await grace.request(method, url + suffix, json=body)
        missing = await grace.request(method, f"/api/v1/approvals/{NEVER}{suffix}", json=body)
        assert theirs.status_code == 404, theirs.text
        assert error_body(theirs) == error_body(missing)
        assert error_body(theirs)["error_code"] == "approval_not_found"
    assert (await ada.get(url)).json()["status"] == "pending"
    decided = await ada.post(url + "/decision", json={"accepted": True, "decided_by": GRACE})
    assert decided.status_code == 200, decided.text
    view = (await ada.get(url)).json()
    # Recorded as the key's owner, not the name the body claimed.
    assert view["decision"]["decided_by"] == ADA


# -- over a real socket: the CLI and the WebSocket ---------------------------------------------


@pytest.fixture(scope="module")
def live_authed_api(settings: Settings) -> Iterator[ThreadedApi]:
    api = ThreadedApi(with_keys(settings)).start()
    yield api
    api.stop()


async def test_cli_sends_research_api_key(
    live_authed_api: ThreadedApi, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = live_authed_api.url
    async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": ADA_KEY}) as ada:
        run_id = await start(ada)

    def research(*args: str, env: dict[str, str]) -> Any:
        return CliRunner().invoke(cli_app, [*args, "--api-url", url], env=env)

    denied = await asyncio.to_thread(research, "status", run_id, env={"RESEARCH_API_KEY": ""})
    assert denied.exit_code == 3 and "unauthorized" in denied.output, denied.output
    theirs = await asyncio.to_thread(
        research, "status", run_id, env={"RESEARCH_API_KEY": GRACE_KEY}
    )
    assert theirs.exit_code == 3 and "run_not_found" in theirs.output, theirs.output
    mine = await asyncio.to_thread(research, "status", run_id, env={"RESEARCH_API_KEY": ADA_KEY})
    assert mine.exit_code == 0 and run_id in mine.output, mine.output
    # The client picks the setting up by itself too (also from .env), without the flag.
    monkeypatch.setenv("RESEARCH_API_KEY", ADA_KEY)
    with ApiClient(url) as api:
        assert api.get_run(run_id).run_id == run_id
        api.cancel(run_id)


async def test_websocket_needs_a_key_and_the_owner(
    live_authed_api: ThreadedApi, worker: Worker
) -> None:
    async with httpx.AsyncClient(
        base_url=live_authed_api.url, headers={"X-API-Key": ADA_KEY}
    ) as ada:
        run_id = await start(ada)
        ws_url = f"ws://127.0.0.1:{live_authed_api.port}{RUNS}/{run_id}/ws"
        with pytest.raises(InvalidStatus) as refused:
            async with ws_connect(ws_url):
                pass
        assert refused.value.response.status_code == 403
        async with ws_connect(ws_url, additional_headers={"X-API-Key": GRACE_KEY}) as ws:
            error = json.loads(await ws.recv())
            with pytest.raises(ConnectionClosed):
                await ws.recv()
        assert error["error_code"] == "run_not_found"
        assert ws.close_code == 1008 and ws.close_reason == "run_not_found"
        async with ws_connect(ws_url, additional_headers={"X-API-Key": ADA_KEY}) as ws:
            first = json.loads(await ws.recv())
        assert first["seq"] == 1
        await ada.post(f"{RUNS}/{run_id}/cancel")


# -- the web page ------------------------------------------------------------------------------


async def test_web_page_sends_the_key_typed_into_its_field(
    client: Client, settings: Settings, worker: Worker
) -> None:
    async_api = pytest.importorskip("playwright.async_api", reason="playwright is a dev dependency")
    from tests.helpers.frontends import CHROMIUM, CHROMIUM_ARGS, InLoopServer

    if not CHROMIUM.exists():
        pytest.skip("needs the system Chromium at /usr/bin/chromium")
    app = create_app(with_keys(settings))
    app.dependency_overrides[get_temporal_client] = lambda: client
    port = free_port()
    server = InLoopServer(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    base_url = f"http://127.0.0.1:{port}"
    try:
        while not server.started:
            if serving.done():
                serving.result()  # raises why the server could not start
            await asyncio.sleep(0.05)
        async with httpx.AsyncClient(base_url=base_url, headers={"X-API-Key": ADA_KEY}) as ada:
            run_id = await start(ada)
            async with async_api.async_playwright() as pw:
                browser = await pw.chromium.launch(
                    executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
                )
                try:
                    page = await (await browser.new_context(base_url=base_url)).new_page()
                    await page.goto("/")
                    # The page shell is open; the API behind it is not.
                    refused = page.locator("#runs-error")
                    await async_api.expect(refused).to_contain_text("an API key is required")
                    await page.fill("#api-key", ADA_KEY)
                    await page.locator("#api-key").dispatch_event("change")
                    await page.reload()
                    row = page.locator(f'tr[data-run-id="{run_id}"]')
                    await async_api.expect(row).to_be_visible(timeout=15_000)
                    await async_api.expect(refused).to_be_hidden()
                    # The run page's status calls and event stream carry the key too.
                    await page.goto(f"/runs/{run_id}")
                    await async_api.expect(page.locator("#clarify-form")).to_be_visible(
                        timeout=30_000
                    )
                finally:
                    await browser.close()
            await ada.post(f"{RUNS}/{run_id}/cancel")
    finally:
        server.should_exit = True
        await serving
