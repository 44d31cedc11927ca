"""Abuse limits: request rate per key, request body size, active runs and pending approvals per
owner, open event streams per key."""

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
from settings import OWNER_PATTERN, Settings
from workflows.search_attributes import RESEARCH_OWNER

COUNT_TIMEOUT = timedelta(seconds=5)
# With keys on, the limits an operator left unset are on anyway: keys mean callers who are not
# all the same trusted person. Generous for a person or a script, tight for a flood.
KEYED_RATE_PER_S = 50.0
KEYED_MAX_ACTIVE_RUNS = 50
KEYED_MAX_PENDING_APPROVALS = 200


def rate_limit_per_s(settings: Settings) -> float | None:
    if settings.api_rate_limit_per_s is not None or not settings.auth_enabled:
        return settings.api_rate_limit_per_s
    return KEYED_RATE_PER_S


def max_active_runs(settings: Settings) -> int | None:
    if settings.api_max_active_runs is not None or not settings.auth_enabled:
        return settings.api_max_active_runs
    return KEYED_MAX_ACTIVE_RUNS


def max_pending_approvals(settings: Settings) -> int | None:
    if settings.api_max_pending_approvals is not None or not settings.auth_enabled:
        return settings.api_max_pending_approvals
    return KEYED_MAX_PENDING_APPROVALS


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
    client: Client,
    workflow_type: str,
    owner: str | None,
    cap: int,
    kind: str = "runs",
) -> None:
    """429 when `owner` already has `cap` running workflows of this type (research runs, or
    with `kind="approvals"` pending approvals). With auth off (owner None) there is one trusted
    user, so every running one counts.

    Counted in Temporal visibility, which is eventually consistent: a run started a moment ago
    may not be counted yet, so a burst of concurrent starts can overshoot the cap by a few. The
    rate limit bounds how big such a burst can be; the cap is a guard, not an exact quota.
    """
    async with temporal_calls("run" if kind == "runs" else "approval"):
        counted = await client.count_workflows(
            active_runs_query(workflow_type, owner), rpc_timeout=COUNT_TIMEOUT
        )
    if counted.count >= cap:
        state = "active" if kind == "runs" else "pending"
        raise ApiError(
            429,
            f"too_many_{state}_{kind}",
            f"{counted.count} {kind} of yours are {state} (the limit is {cap}); "
            "let one finish, or stop or cancel one first",
            {f"{state}_{kind}": counted.count, "limit": cap},
            headers={"Retry-After": "60"},
        )


class StreamSlots:
    """Open event streams (SSE and WebSocket) per caller, in this API process.

    Each stream polls its run on Temporal for as long as it stays open, so one caller holding
    many would multiply load at no cost to itself. The caller is the key (auth off: the client
    address), as for the rate limit.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: dict[str, int] = {}

    def acquire(self, caller: str) -> Callable[[], None]:
        """Take a slot, or raise 429 `too_many_streams`; returns the (idempotent) release."""
        held = self._open.get(caller, 0)
        if held >= self.limit:
            raise ApiError(
                429,
                "too_many_streams",
                f"you have {held} event streams open (the limit is {self.limit}); close one first",
                {"open_streams": held, "limit": self.limit},
                headers={"Retry-After": "5"},
            )
        self._open[caller] = held + 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                left = self._open.get(caller, 1) - 1
                if left > 0:
                    self._open[caller] = left
                else:
                    self._open.pop(caller, None)

        return release


def stream_caller(scope: Scope) -> str:
    """Whose streams these are: the key's id, or the client address with auth off."""
    principal = scope.get("state", {}).get("principal")
    if principal is not None:
        return f"key:{principal.key_id}"
    client = scope.get("client")
    return f"addr:{client[0] if client else None}"
