"""Per-request plumbing as plain ASGI: request id, Prometheus metrics and the last-resort 500.

Plain ASGI rather than BaseHTTPMiddleware so streaming responses (the SSE events route) pass
through untouched, and so an unhandled error is answered here, inside the metrics and the
request-id header, instead of by Starlette's outermost ServerErrorMiddleware.
"""

from __future__ import annotations

import logging
import re
import time
from uuid import uuid4

from prometheus_client import Counter, Histogram
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import REQUEST_ID_HEADER, error_response

log = logging.getLogger(__name__)

# A client's id is echoed into headers and logs, so only a short, plain token is accepted.
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Unmatched paths share one label: label values must not grow with what clients type.
UNMATCHED = "unmatched"

REQUESTS = Counter(
    "research_api_requests_total",
    "HTTP requests handled, by route template and status code",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "research_api_request_duration_seconds",
    "HTTP request latency, by route template",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def _request_id(scope: Scope) -> str:
    incoming = Headers(scope=scope).get(REQUEST_ID_HEADER)
    return incoming if incoming and _CLIENT_ID.fullmatch(incoming) else uuid4().hex


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        # Shared with `request.state`, so error bodies carry the same id as the header.
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                headers = MutableHeaders(scope=message)
                if REQUEST_ID_HEADER not in headers:
                    headers.append(REQUEST_ID_HEADER, request_id)
            await send(message)

        began = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception(
                "unhandled error in %s %s [%s]", scope["method"], scope["path"], request_id
            )
            status = 500
            if started:
                raise  # Too late for an error body; the server closes the connection.
            response = error_response(
                Request(scope), 500, "internal_error", "an internal error occurred"
            )
            await response(scope, receive, send_with_id)
        finally:
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            LATENCY.labels(scope["method"], route).observe(time.perf_counter() - began)
