"""Webhook signatures, the delivery's headers and error mapping, the SSRF guard on webhook URLs,
and the notification options: no server."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import httpx
import pytest
from pydantic import ValidationError
from temporalio.exceptions import ApplicationError

from activities.notify import NotifyActivities
from domain.notify import DeliveryRequest, Notification
from domain.run import RunOptions
from providers.webhook import SIGNATURE_HEADER, post, sign, verify

SECRET = "whsec-unit"
BODY = b'{"id":"research-r1:7","type":"reminder"}'


def test_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    header = sign(SECRET, 1_700_000_000, BODY)
    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert verify(SECRET, header, BODY, now=1_700_000_010)


@pytest.mark.parametrize(
    ("secret", "body", "now"),
    [
        ("another-secret", BODY, 1_700_000_010),  # wrong key
        (SECRET, BODY + b" ", 1_700_000_010),  # body changed
        (SECRET, BODY, 1_700_000_000 + 301),  # too old: a replayed delivery
    ],
)
def test_signature_refused(secret: str, body: bytes, now: float) -> None:
    assert not verify(secret, sign(SECRET, 1_700_000_000, BODY), body, now=now)


@pytest.mark.parametrize("header", ["", "t=abc,v1=00", "v1=00", "t=1700000000", "garbage"])
def test_malformed_signature_header_refused(header: str) -> None:
    assert not verify(SECRET, header, BODY, now=1_700_000_000)


def note() -> Notification:
    return Notification(
        id="research-r1:7",
        type="reminder",
        run_id="r1",
        workflow_id="research-r1",
        at="2026-11-28T10:00:00+00:00",
        status="awaiting_input",
        stage="report_review",
    )


async def test_post_sends_signed_idempotent_delivery() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    body = note().model_dump_json().encode()
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        code = await post(
            client, "https://hooks.example/x", body, "research-r1:7", "reminder", SECRET
        )
    assert code == 204
    request = seen[0]
    assert request.headers["Idempotency-Key"] == "research-r1:7"
    assert request.headers["X-Research-Event-Id"] == "research-r1:7"
    assert request.headers["X-Research-Event"] == "reminder"
    assert verify(SECRET, request.headers[SIGNATURE_HEADER], request.content)
    assert json.loads(request.content)["id"] == "research-r1:7"


@pytest.mark.parametrize(
    ("status", "retryable"), [(500, True), (503, True), (429, True), (404, False), (400, False)]
)
async def test_post_maps_failures_to_retries(status: int, retryable: bool) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(status))
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(ApplicationError) as err:
            await post(client, "https://hooks.example/x", BODY, "e1", "reminder", SECRET)
    assert err.value.non_retryable is not retryable


async def test_post_without_secret_is_unsigned() -> None:
    seen: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(200))
    async with httpx.AsyncClient(transport=transport) as client:
        await post(client, "https://hooks.example/x", BODY, "e1", "reminder", None)
    assert SIGNATURE_HEADER not in seen[0].headers


async def test_loopback_webhook_refused_unless_allowed() -> None:
    acts = NotifyActivities([], SECRET, timeout_s=2.0, allow_private=False)
    try:
        with pytest.raises(ApplicationError) as err:
            await acts.deliver(DeliveryRequest(url="http://127.0.0.1:9/hook", notification=note()))
        assert err.value.type == "address_blocked" and err.value.non_retryable
    finally:
        await acts.aclose()


def test_reminder_and_notify_options() -> None:
    opts = RunOptions.model_validate(
        {
            "remind_after": "P1D",
            "remind_every": "PT2H",
            "escalate_after": 259200,
            "escalate_to": "editors",
            "notify": {"urls": ["https://hooks.example/x"]},
        }
    )
    assert opts.remind_after == timedelta(days=1) and opts.remind_every == timedelta(hours=2)
    assert opts.escalate_after == timedelta(days=3)
    assert opts.notify is not None and "finished" in opts.notify.events
    for bad in (
        {"escalate_after": "P1D"},  # to whom?
        {"escalate_to": "editors"},  # when?
        {"remind_every": "PT0S"},
        {"notify": {"urls": ["file:///etc/passwd"]}},
        {"notify": {"urls": []}},
        {"notify": {"urls": ["https://a.example"], "events": ["sometimes"]}},
    ):
        with pytest.raises(ValidationError):
            RunOptions.model_validate(bad)
