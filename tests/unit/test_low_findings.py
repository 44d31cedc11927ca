"""The small holes of issue 13, item 11: metric labels, page tokens, invisible questions, what
/ready tells a stranger, and who may use the codec. No server: Temporal is faked where needed."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from pydantic import SecretStr

from api.deps import get_temporal_client
from api.errors import ApiError
from api.main import create_app
from api.visibility import decode_page_token, encode_page_token
from settings import Settings

USER_KEY, OPERATOR_KEY = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
KEYS = json.dumps({USER_KEY: "ada", OPERATOR_KEY: "ops"})


class FakeWorkflowService:
    async def get_system_info(self, *_: Any, **__: Any) -> Any:
        return SimpleNamespace(server_version="9.9.9")

    async def describe_task_queue(self, *_: Any, **__: Any) -> Any:
        return SimpleNamespace(pollers=[])


def app_with(**settings: Any) -> FastAPI:
    app = create_app(Settings(**{"api_keys": SecretStr(""), **settings}))
    fake = SimpleNamespace(namespace="default", workflow_service=FakeWorkflowService())
    app.dependency_overrides[get_temporal_client] = lambda: fake
    return app


@pytest.fixture
async def open_api() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app_with())
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        yield http


def requests_counted(method: str) -> float:
    labels = {"method": method, "route": "unmatched", "status": "404"}
    return REGISTRY.get_sample_value("research_api_requests_total", labels) or 0.0


async def test_unknown_methods_share_one_metric_label(open_api: httpx.AsyncClient) -> None:
    method = "X" + secrets.token_hex(4).upper()
    before = requests_counted("OTHER")
    response = await open_api.request(method, "/no/such/path")
    assert response.status_code == 404
    assert requests_counted(method) == 0.0
    assert requests_counted("OTHER") == before + 1


def test_page_tokens_are_signed_with_a_key() -> None:
    inner = b"temporal's opaque page token"
    # What anyone could compute before: an unkeyed digest in front of the bytes.
    forged = base64.urlsafe_b64encode(hashlib.sha256(inner).digest()[:4] + inner).decode()
    with pytest.raises(ApiError) as refused:
        decode_page_token(forged)
    assert refused.value.status == 422
    key, other = secrets.token_bytes(32), secrets.token_bytes(32)
    assert decode_page_token(encode_page_token(inner, key), key) == inner
    with pytest.raises(ApiError):
        decode_page_token(encode_page_token(inner, other), key)


@pytest.mark.parametrize("question", ["\u200b\u200c\u200d\ufeff", "\u2060 \u200b", "why\x00?"])
async def test_invisible_or_nul_questions_are_refused(
    open_api: httpx.AsyncClient, question: str
) -> None:
    response = await open_api.post("/api/v1/runs", json={"question": question})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error_code"] == "invalid_request" and body["request_id"]
    assert body["details"]["errors"][0]["loc"][-1] == "question"


async def test_ready_tells_a_stranger_only_ready() -> None:
    transport = httpx.ASGITransport(app=app_with(api_keys=SecretStr(KEYS)))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        anonymous = await http.get("/api/v1/ready")
        keyed = await http.get("/api/v1/ready", headers={"X-API-Key": USER_KEY})
        wrong = await http.get("/api/v1/ready", headers={"X-API-Key": "not-a-key"})
    assert anonymous.status_code == keyed.status_code == wrong.status_code == 200
    for stranger in (anonymous.json(), wrong.json()):
        assert stranger["status"] == "ready"
        assert stranger["temporal_address"] is None and stranger["server_version"] is None
    assert keyed.json()["server_version"] == "9.9.9" and keyed.json()["temporal_address"]


async def test_only_operators_may_use_the_codec() -> None:
    payload_key = SecretStr(base64.b64encode(secrets.token_bytes(32)).decode())
    app = app_with(api_keys=SecretStr(KEYS), payload_key=payload_key, api_operators="ops")
    transport = httpx.ASGITransport(app=app)
    body = {"payloads": [{"metadata": {"encoding": "anNvbi9wbGFpbg=="}, "data": "MQ=="}]}
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        user = await http.post("/codec/decode", json=body, headers={"X-API-Key": USER_KEY})
        operator = await http.post("/codec/decode", json=body, headers={"X-API-Key": OPERATOR_KEY})
        encode = await http.post("/codec/encode", json=body, headers={"X-API-Key": USER_KEY})
    assert user.status_code == encode.status_code == 403
    assert user.json()["error_code"] == "operator_only"
    assert operator.status_code == 200, operator.text


def test_operators_setting_reads_a_comma_list() -> None:
    assert Settings(api_operators="ops, root ,").api_operators == ["ops", "root"]
