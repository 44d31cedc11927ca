"""Auth off: a page in the user's browser cannot drive the API (issue 13, item 5).

No server: every refusal here happens in the guard before a route runs, and the requests that
pass go to routes that answer without Temporal (health, or a method the route does not allow).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from api.browser import check_loopback_host, is_loopback_name
from api.errors import ApiError
from api.main import create_app
from settings import Settings

HEALTH = "/api/v1/health"
CANCEL = "/api/v1/runs/some-run/cancel"
# POST on a GET-only route: past the guard it is a 405, never a 403.
POST_HEALTH = HEALTH


def open_settings(**extra: object) -> Settings:
    return Settings(api_keys=SecretStr(""), **extra)


@pytest.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(open_settings()))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
        yield http


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "[::1]:8000", "localhost"])
async def test_loopback_host_names_are_served(api: httpx.AsyncClient, host: str) -> None:
    response = await api.get(HEALTH, headers={"Host": host})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "host", ["evil.example:8000", "evil.example", "127.0.0.1.evil.example", "10.0.0.5:8000"]
)
async def test_a_rebound_host_name_is_refused(api: httpx.AsyncClient, host: str) -> None:
    # A DNS-rebound page reaches 127.0.0.1 but its requests still name the attacker's host.
    for response in (
        await api.get(HEALTH, headers={"Host": host}),
        await api.get("/api/v1/runs", headers={"Host": host}),
    ):
        assert response.status_code == 403
        body = response.json()
        assert body["error_code"] == "host_not_allowed"
        assert body["request_id"] and body["message"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "http://127.0.0.1:9999"},  # another local port is another origin
        {"Origin": "http://localhost:8000"},  # another host name is another origin too
        {"Origin": "null"},  # sandboxed frames, file: pages
        {"Sec-Fetch-Site": "cross-site"},
    ],
)
async def test_cross_site_posts_are_refused(
    api: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    # No body, no content type: what a plain HTML form or fetch(no-cors) can send anywhere.
    for path in (CANCEL, "/api/v1/runs/some-run/stop"):
        response = await api.post(path, headers=headers)
        assert response.status_code == 403, response.text
        assert response.json()["error_code"] == "cross_site_request"


async def test_same_origin_and_originless_posts_pass_the_guard(api: httpx.AsyncClient) -> None:
    same = await api.post(POST_HEALTH, headers={"Origin": "http://127.0.0.1:8000"})
    bare = await api.post(POST_HEALTH)  # curl, the CLI
    fetched = await api.post(
        POST_HEALTH,
        headers={"Origin": "http://127.0.0.1:8000", "Sec-Fetch-Site": "same-origin"},
    )
    assert [same.status_code, bare.status_code, fetched.status_code] == [405, 405, 405]


async def test_cross_site_reads_are_left_to_the_same_origin_policy(api: httpx.AsyncClient) -> None:
    response = await api.get(HEALTH, headers={"Origin": "https://evil.example"})
    assert response.status_code == 200


def test_websocket_handshake_from_another_origin_is_refused() -> None:
    # No `with`: the lifespan (which dials Temporal) is not needed for a refused handshake.
    http = TestClient(create_app(open_settings()), base_url="http://127.0.0.1:8000")
    cases = [
        ({"Host": "127.0.0.1:8000", "Origin": "https://evil.example"}, "cross_site_request"),
        ({"Host": "evil.example:8000"}, "host_not_allowed"),
    ]
    for headers, error_code in cases:
        with pytest.raises(WebSocketDisconnect) as refused:
            with http.websocket_connect("/api/v1/runs/some-run/ws", headers=headers):
                pass
        assert refused.value.code == 1008
        assert refused.value.reason == error_code


async def test_keys_or_an_authenticating_proxy_lift_the_host_check() -> None:
    remote = create_app(open_settings(api_allow_unauthenticated_remote=True))
    transport = httpx.ASGITransport(app=remote)
    async with httpx.AsyncClient(transport=transport, base_url="http://research.example") as http:
        assert (await http.get(HEALTH)).status_code == 200
        # Behind the proxy, cookies may be what authenticates: cross-site posts stay refused.
        cross = await http.post(CANCEL, headers={"Origin": "https://evil.example"})
        assert cross.json()["error_code"] == "cross_site_request"


def test_host_names() -> None:
    assert is_loopback_name("127.0.0.1") and is_loopback_name("[::1]")
    assert not is_loopback_name("0.0.0.0") and not is_loopback_name("example.com")
    scope = {"type": "http", "scheme": "http", "headers": [(b"host", b"a@127.0.0.1")]}
    with pytest.raises(ApiError):
        check_loopback_host(scope)
