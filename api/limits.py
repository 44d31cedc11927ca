"""Abuse limits: request rate per key, request body size, active runs per owner."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import timedelta

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import Message, Receive, Scope
from temporalio.client import Client

from api.errors import ApiError
from api.temporal import temporal_calls
from settings import OWNER_PATTERN
from workflows.search_attributes import RESEARCH_OWNER

COUNT_TIMEOUT = timedelta(seconds=5)
# Buckets of callers gone quiet are dropped beyond this many, so a flood of distinct keys or
# addresses cannot grow memory without bound (a dropped bucket comes back full, which is what
# an idle caller's bucket would be anyway after a while).
MAX_BUCKETS = 10_000


class RateLimiter:
    """Token buckets by caller: `rate` requests per second, bursts up to `burst`.

    In-process: each API process keeps its own buckets, so N processes behind a load balancer
    allow up to N times the rate. Good enough to stop a runaway script; a shared limit would
    belong in the proxy in front (or Redis), not here.
    """

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, caller: str) -> float:
        """Spend one token; 0.0 if allowed, else the seconds until a token is back."""
        now = self._clock()
        tokens, last = self._buckets.pop(caller, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        allowed = tokens >= 1.0
        if allowed:
            tokens -= 1.0
        self._buckets[caller] = (tokens, now)  # most recent last
        while len(self._buckets) > MAX_BUCKETS:
            self._buckets.popitem(last=False)
        return 0.0 if allowed else (1.0 - tokens) / self.rate


def rate_limited(wait_s: float) -> ApiError:
    # Retry-After is whole seconds (RFC 9110); rounding up never invites an early retry.
    retry_after = max(1, math.ceil(wait_s))
    return ApiError(
        429,
        "rate_limited",
        "too many requests; slow down",
        {"retry_after_s": retry_after},
        headers={"Retry-After": str(retry_after)},
    )


class BodyTooLarge(HTTPException):
    """An HTTPException so FastAPI re-raises it from its body parsing (any other error there
    becomes a 400) and the app's handler renders it with the standard error body."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


def declared_length(scope: Scope) -> int | None:
    raw = Headers(scope=scope).get("content-length")
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def limit_body(receive: Receive, limit: int) -> Receive:
    """`receive` that counts body bytes as they arrive and stops past `limit`.

    This is what catches a chunked body (no Content-Length), and a Content-Length that lies.
    """
    seen = 0

    async def receive_limited() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
        return message

    return receive_limited


def active_runs_query(workflow_type: str, owner: str | None) -> str:
    query = f"WorkflowType = '{workflow_type}' AND ExecutionStatus = 'Running'"
    if owner is None:
        return query
    # Owners come from settings, checked against OWNER_PATTERN (no quotes): no injection path.
    if not OWNER_PATTERN.fullmatch(owner):
        raise ValueError(f"not an owner name: {owner!r}")
    return f"{query} AND {RESEARCH_OWNER.name} = '{owner}'"


async def check_active_runs(
    client: Client, workflow_type: str, owner: str | None, cap: int
) -> None:
    """429 when `owner` already has `cap` running research runs. With auth off (owner None)
    there is one trusted user, so every running run counts.

    Counted in Temporal visibility, which is eventually consistent: a run started a moment ago
    may not be counted yet, so a burst of concurrent starts can overshoot the cap by a few. The
    rate limit bounds how big such a burst can be; the cap is a guard, not an exact quota.
    """
    async with temporal_calls("run"):
        counted = await client.count_workflows(
            active_runs_query(workflow_type, owner), rpc_timeout=COUNT_TIMEOUT
        )
    if counted.count >= cap:
        raise ApiError(
            429,
            "too_many_active_runs",
            f"{counted.count} runs of yours are active (the limit is {cap}); "
            "let one finish, or stop or cancel one first",
            {"active_runs": counted.count, "limit": cap},
            headers={"Retry-After": "60"},
        )
