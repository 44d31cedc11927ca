"""The API's error contract, without Temporal: every failure has one shape and a stable code.

The Temporal client dependency is replaced by a stub that fails the test if a route reaches it,
so these prove that validation happens before any Temporal call.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from api.deps import get_temporal_client
from api.errors import temporal_unavailable
from api.main import create_app
from settings import Settings
from tests.helpers.offline_api import UntouchableClient, assert_error


@pytest.fixture
def offline_settings(tmp_path: Path) -> Settings:
    # Port 1 refuses connections at once: the real connector fails fast.
    return Settings(temporal_address="127.0.0.1:1", data_dir=tmp_path)


@pytest.fixture
def offline_app(offline_settings: Settings) -> FastAPI:
    app = create_app(offline_settings)
    app.dependency_overrides[get_temporal_client] = UntouchableClient
    return app


@pytest.fixture
async def api(offline_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=offline_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        yield http


def error_types(body: dict[str, Any]) -> set[tuple[str, str]]:
    return {(e["loc"][-1], e["type"]) for e in body["details"]["errors"]}


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"question": ""}, ("question", "string_too_short")),
        ({"question": "   \n "}, ("question", "string_too_short")),
        ({"question": "x" * 4001}, ("question", "string_too_long")),
        ({"question": "ok", "run_id": "../etc"}, ("run_id", "string_pattern_mismatch")),
        ({"question": "ok", "run_id": "a" * 65}, ("run_id", "string_pattern_mismatch")),
        ({"question": "ok", "questoin": "typo"}, ("questoin", "extra_forbidden")),
        ({"question": "ok", "options": {"breadth": 0}}, ("breadth", "greater_than_equal")),
        ({"question": "ok", "options": {"depht": 2}}, ("depht", "extra_forbidden")),
        ({"question": "ok", "options": {"input_timeout": -5}}, ("input_timeout", "greater_than")),
        ({}, ("question", "missing")),
    ],
)
async def test_create_run_rejects_bad_bodies(
    api: httpx.AsyncClient, payload: dict[str, Any], expected: tuple[str, str]
) -> None:
    body = assert_error(await api.post("/api/v1/runs", json=payload), 422, "invalid_request")
    assert expected in error_types(body)


async def test_non_json_body_is_invalid_request(api: httpx.AsyncClient) -> None:
    resp = await api.post(
        "/api/v1/runs", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_error(resp, 422, "invalid_request")


@pytest.mark.parametrize(
    ("path", "payload", "expected"),
    [
        ("/api/v1/runs/r1/acceptance", {"comment": "no verdict"}, ("accepted", "missing")),
        (
            "/api/v1/runs/r1/acceptance",
            {"accepted": True, "extra": 1},
            ("extra", "extra_forbidden"),
        ),
        ("/api/v1/runs/r1/clarification", {"answers": {"q1": 5}}, ("q1", "string_type")),
        ("/api/v1/runs/r1/stop", {"reason": "x", "force": True}, ("force", "extra_forbidden")),
        ("/api/v1/approvals", {"title": " "}, ("title", "string_too_short")),
        ("/api/v1/approvals/a1/decision", {"accepted": "maybe"}, ("accepted", "bool_parsing")),
    ],
)
async def test_inputs_reject_bad_bodies(
    api: httpx.AsyncClient, path: str, payload: dict[str, Any], expected: tuple[str, str]
) -> None:
    body = assert_error(await api.post(path, json=payload), 422, "invalid_request")
    assert expected in error_types(body)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/runs/bad%20id"),
        ("GET", "/api/v1/runs/-leading-dash"),
        ("POST", "/api/v1/runs/.hidden/cancel"),
        ("GET", "/api/v1/runs/" + "a" * 65 + "/report"),
    ],
)
async def test_impossible_run_ids_are_not_found(
    api: httpx.AsyncClient, method: str, path: str
) -> None:
    assert_error(await api.request(method, path), 404, "run_not_found")


async def test_impossible_approval_id_is_not_found(api: httpx.AsyncClient) -> None:
    assert_error(await api.get("/api/v1/approvals/no%20such"), 404, "approval_not_found")


async def test_bad_query_parameters(api: httpx.AsyncClient) -> None:
    assert_error(await api.get("/api/v1/runs?status=bogus"), 422, "invalid_request")
    assert_error(await api.get("/api/v1/runs?page_size=0"), 422, "invalid_request")
    assert_error(await api.get("/api/v1/runs/r1/report?format=odt"), 422, "invalid_request")


async def test_unknown_route_and_method(api: httpx.AsyncClient) -> None:
    assert_error(await api.get("/api/v1/nope"), 404, "not_found")
    # An encoded slash is decoded before routing, so this matches no route at all.
    assert_error(await api.post("/api/v1/runs/..%2F..%2Fetc/cancel"), 404, "not_found")
    resp = await api.delete("/api/v1/runs")
    assert_error(resp, 405, "method_not_allowed")
    assert "POST" in resp.headers["Allow"]


async def test_health(api: httpx.AsyncClient) -> None:
    resp = await api.get("/api/v1/health")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok"}


async def test_request_id_is_echoed_or_generated(api: httpx.AsyncClient) -> None:
    resp = await api.get("/api/v1/health", headers={"X-Request-ID": "abc-123"})
    assert resp.headers["X-Request-ID"] == "abc-123"
    body = assert_error(
        await api.get("/api/v1/nope", headers={"X-Request-ID": "req.42"}), 404, "not_found"
    )
    assert body["request_id"] == "req.42"
    generated = (await api.get("/api/v1/health")).headers["X-Request-ID"]
    assert len(generated) == 32
    # Header injection or log spam is replaced, not echoed.
    odd = (await api.get("/api/v1/health", headers={"X-Request-ID": "a b<c>"})).headers
    assert odd["X-Request-ID"] != "a b<c>"


async def test_temporal_unavailable_from_the_dependency(
    api: httpx.AsyncClient, offline_app: FastAPI
) -> None:
    def down() -> None:
        raise temporal_unavailable("connection refused")

    offline_app.dependency_overrides[get_temporal_client] = down
    body = assert_error(await api.get("/api/v1/runs"), 503, "temporal_unavailable")
    assert body["details"] == {"reason": "connection refused"}
    assert_error(
        await api.post("/api/v1/runs", json={"question": "q"}), 503, "temporal_unavailable"
    )
    assert_error(await api.get("/api/v1/ready"), 503, "temporal_unavailable")


async def test_real_connector_without_temporal(offline_settings: Settings) -> None:
    app = create_app(offline_settings)
    # The lifespan must not crash when Temporal is down.
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            assert (await http.get("/api/v1/health")).status_code == 200
            resp = await http.get("/api/v1/ready")
            assert_error(resp, 503, "temporal_unavailable")
            assert resp.headers["Retry-After"]
            assert_error(await http.get("/api/v1/runs/r1"), 503, "temporal_unavailable")


async def test_unhandled_error_is_internal_error(
    api: httpx.AsyncClient, offline_app: FastAPI
) -> None:
    def broken() -> None:
        raise RuntimeError("boom")

    offline_app.dependency_overrides[get_temporal_client] = broken
    body = assert_error(await api.get("/api/v1/runs"), 500, "internal_error")
    assert "boom" not in body["message"]


async def test_metrics_count_by_route_template(api: httpx.AsyncClient) -> None:
    await api.get("/api/v1/runs/bad%20id")
    await api.get("/api/v1/no/such/route")
    resp = await api.get("/api/v1/metrics")
    assert resp.status_code == 200
    text = resp.text
    assert 'route="/api/v1/runs/{run_id}",status="404"' in text
    assert 'route="unmatched"' in text
    assert "research_api_request_duration_seconds_bucket" in text


async def test_openapi_documents_every_route(api: httpx.AsyncClient) -> None:
    resp = await api.get("/openapi.json")
    assert resp.status_code == 200
    paths = resp.json()["paths"]
    for path in ("/api/v1/runs", "/api/v1/runs/{run_id}/acceptance", "/api/v1/approvals"):
        assert path in paths
    assert (await api.get("/docs")).status_code == 200
