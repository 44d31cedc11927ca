"""The guard in front of every route, as plain ASGI: API key, browser checks with auth off, rate
limit and body size, before any route runs or any body is read.

Plain ASGI for the reasons in api/middleware.py; it runs inside RequestContextMiddleware, so its
refusals carry the request id and are counted.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocketClose

from api.auth import KeyRing, Principal, is_loopback, presented_key, unauthorized
from api.browser import check_browser
from api.errors import ApiError, error_response
from api.limits import (
    BodyTooLarge,
    RateLimiter,
    declared_length,
    limit_body,
    rate_limit_per_s,
    rate_limited,
)
from api.routes import API_PREFIX
from api.routes.codec import codec_origins
from settings import Settings

# RFC 6455 1008: the request breaks policy (here: no valid key).
WS_POLICY_VIOLATION = 1008

# Open without a key: probes and scrapers (health, ready, metrics: no run data, and load
# balancers and Prometheus send no keys), the API's own docs, and the web page's HTML shells and
# static files, which hold no data (the page's scripts call the API with the key the person
# typed). Everything else is guarded, including paths that match no route, so a route added
# later is closed by default.
OPEN_PATHS = frozenset(
    {
        f"{API_PREFIX}/health",
        f"{API_PREFIX}/ready",
        f"{API_PREFIX}/metrics",
        # The same two at the root, where seeds 000/001 look for them.
        "/health",
        "/metrics",
        "/",
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
        "/openapi.json",
    }
)
OPEN_PAGES = re.compile(r"^/(runs|static)/[^/]+$")


def route_path(scope: Scope) -> str:
    # What routing matches on: the path without the mount point a proxy may have set.
    path, root = scope["path"], scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def is_open(scope: Scope) -> bool:
    path = route_path(scope)
    return path in OPEN_PATHS or bool(OPEN_PAGES.fullmatch(path))


class GuardMiddleware:
    """Authentication, browser checks (auth off), rate limit and body size, before any route
    runs or any body is read.

    Inside RequestContextMiddleware, so refusals carry the request id and are counted.
    """

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.keys = KeyRing(settings.api_key_owners)
        self.loopback_only = not settings.auth_enabled and not (
            settings.api_allow_unauthenticated_remote
        )
        rate = rate_limit_per_s(settings)
        self.limiter = RateLimiter(rate, settings.api_rate_limit_burst) if rate else None
        self.max_body = settings.api_max_body_bytes
        self.codec_origins = frozenset(codec_origins(settings))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        try:
            if not len(self.keys):
                # No key to steal, so a page in the user's browser is the threat (api/browser.py).
                check_browser(
                    scope, loopback_host=self.loopback_only, codec_origins=self.codec_origins
                )
            if not is_open(scope):
                principal = self._authenticate(scope)
                scope.setdefault("state", {})["principal"] = principal
                self._throttle(principal.key_id if principal else f"addr:{_host(scope)}")
            if scope["type"] == "http":
                receive = self._limit_body(scope, receive)
        except ApiError as err:
            await _refuse(scope, receive, send, err)
            return
        started = False

        async def send_tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_tracked)
        except BodyTooLarge as exc:
            # Raised by a read outside FastAPI's body parsing (which renders it itself).
            if started:
                raise
            await _refuse(scope, receive, send, ApiError(413, "payload_too_large", exc.detail))

    def _authenticate(self, scope: Scope) -> Principal | None:
        if not len(self.keys):
            if self.loopback_only and not is_loopback(_host(scope)):
                # Bound beyond loopback anyway (e.g. `uvicorn --host 0.0.0.0`): still refuse.
                raise ApiError(
                    403,
                    "loopback_only",
                    "authentication is off, so this API answers only on this machine; "
                    "set RESEARCH_API_KEYS to serve other hosts",
                )
            return None
        key = presented_key(scope)
        principal = self.keys.principal(key) if key else None
        if principal is None:
            # Failed attempts are throttled per address, so guessing keys is slow too.
            self._throttle(f"addr:{_host(scope)}")
            raise unauthorized("an API key is required" if key is None else "invalid API key")
        return principal

    def _throttle(self, caller: str) -> None:
        if self.limiter is not None and (wait := self.limiter.take(caller)):
            raise rate_limited(wait)

    def _limit_body(self, scope: Scope, receive: Receive) -> Receive:
        declared = declared_length(scope)
        if declared is not None and declared > self.max_body:
            # Refused from the header alone: not one byte of the body is read.
            raise ApiError(
                413,
                "payload_too_large",
                f"the request body is larger than {self.max_body} bytes",
                {"limit": self.max_body},
            )
        return limit_body(receive, self.max_body)


def _host(scope: Scope) -> str | None:
    client = scope.get("client")
    return client[0] if client else None


async def _refuse(scope: Scope, receive: Receive, send: Send, err: ApiError) -> None:
    if scope["type"] == "websocket":
        # Before accept, a close makes the server answer the handshake with 403.
        await WebSocketClose(code=WS_POLICY_VIOLATION, reason=err.error_code)(scope, receive, send)
        return
    response = error_response(
        Request(scope), err.status, err.error_code, err.message, err.details, err.headers
    )
    await response(scope, receive, send)
