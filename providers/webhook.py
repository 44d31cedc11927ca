"""Signed webhook posts: the signature scheme, its check, and the guarded HTTP client.

A delivery is a JSON POST with these headers:
- `X-Research-Signature: t=<unix seconds>,v1=<hex>`, where hex is HMAC-SHA256 with the
  deployment's secret over `<t>.<raw body>` (the Stripe scheme: the timestamp is signed, so a
  receiver can refuse old deliveries replayed at it);
- `Idempotency-Key` and `X-Research-Event-Id`: the notification's id (also the body's `id`);
  a retried delivery carries the same id, so a receiver keeps the first and drops repeats;
- `X-Research-Event`: the notification's type.

The client dials through the SSRF guard (providers/ssrf.py), as page reads do: a run's webhook
URL must not make the worker post into our own network.
"""

from __future__ import annotations

import hashlib
import hmac
import time

import httpcore
import httpx

from providers.http_errors import status_error, transport_error
from providers.ssrf import GuardedBackend

SIGNATURE_HEADER = "X-Research-Signature"
# Receivers should refuse a signature older than this (a replayed delivery).
DEFAULT_TOLERANCE_S = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The `X-Research-Signature` value for `body` sent at `timestamp`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(
    secret: str,
    header: str,
    body: bytes,
    now: float | None = None,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> bool:
    """Whether `header` is a valid signature of `body`, made at most `tolerance_s` ago. The
    reference check for receivers (docs/api.md shows the same in a few lines)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
        given = parts["v1"]
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance_s:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, given)


def webhook_client(timeout_s: float, allow_private: bool) -> httpx.AsyncClient:
    """A client whose connections are dialled by the SSRF guard; no proxies, no redirects."""
    transport = httpx.AsyncHTTPTransport(trust_env=False)
    # httpx takes no network backend, so its pool is replaced by one that dials through ours.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        max_connections=20,
        network_backend=GuardedBackend(allow_private),
    )
    return httpx.AsyncClient(timeout=httpx.Timeout(timeout_s), transport=transport, trust_env=False)


async def post(
    client: httpx.AsyncClient,
    url: str,
    body: bytes,
    event_id: str,
    event_type: str,
    secret: str | None,
) -> int:
    """POST one delivery; its status code on 2xx/3xx, else the retryable or final error
    (5xx, 408, 429 and network failures retry; other 4xx never get better)."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "research-notify/1",
        "Idempotency-Key": event_id,
        "X-Research-Event-Id": event_id,
        "X-Research-Event": event_type,
    }
    if secret:
        # Signed at each attempt: the timestamp is the attempt's, so a late retry still passes
        # a receiver's freshness window.
        headers[SIGNATURE_HEADER] = sign(secret, int(time.time()), body)
    # Named by host only: a webhook's path and query often hold its secret (Slack-style URLs),
    # and this text ends up in errors, event logs and the Temporal UI.
    what = f"webhook to {httpx.URL(url).host}"
    try:
        response = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise transport_error(what, exc) from exc
    error = status_error(what, response)
    if error is not None:
        raise error
    return response.status_code
