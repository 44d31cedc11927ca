"""Per-request plumbing as plain ASGI: request id, trace span, Prometheus metrics, last-resort 500.
The guard in front of every route (API key, browser checks, rate limit, body size) is api/guard.py.

Plain ASGI rather than BaseHTTPMiddleware so streaming responses (the SSE events route) pass
through untouched, and so an unhandled error is answered here, inside the metrics and the
request-id header, instead of by Starlette's outermost ServerErrorMiddleware.
"""

from __future__ import annotations

import logging
import re
import time
from uuid import uuid4

from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import REQUEST_ID_HEADER, error_response
from api.metrics import LATENCY, REQUESTS, method_label
from telemetry.logs import REQUEST_ID, REQUEST_SCOPE
from telemetry.tracing import get_tracer

log = logging.getLogger(__name__)

# A client's id is echoed into headers and logs, so only a short, plain token is accepted.
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Unmatched paths share one label: label values must not grow with what clients type.
UNMATCHED = "unmatched"


def _request_id(scope: Scope) -> str:
    incoming = Headers(scope=scope).get(REQUEST_ID_HEADER)
    return incoming if incoming and _CLIENT_ID.fullmatch(incoming) else uuid4().hex


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, tracer: trace.Tracer | None = None) -> None:
        self.app = app
        self.tracer = tracer or get_tracer()

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
        # The server span that the Temporal client's spans (start, update, query) hang under; a
        # caller's `traceparent` header makes it part of the caller's trace.
        parent = propagate.extract(dict(Headers(scope=scope)))
        request_token = REQUEST_ID.set(request_id)
        scope_token = REQUEST_SCOPE.set(scope)
        with self.tracer.start_as_current_span(
            f"{scope['method']} {scope['path']}", context=parent, kind=SpanKind.SERVER
        ) as span:
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
                elapsed = time.perf_counter() - began
                route = getattr(scope.get("route"), "path", None) or UNMATCHED
                method = method_label(scope["method"])
                REQUESTS.labels(method, route, str(status)).inc()
                LATENCY.labels(method, route).observe(elapsed)
                _finish_span(span, scope, route, status, request_id)
                # Our access log: unlike uvicorn's, it runs inside the request's log context.
                log.info("%s %s %s %.3fs", scope["method"], scope["path"], status, elapsed)
                REQUEST_SCOPE.reset(scope_token)
                REQUEST_ID.reset(request_token)


def _finish_span(span: trace.Span, scope: Scope, route: str, status: int, request_id: str) -> None:
    # Named by route template, not raw path, so trace search groups requests like metrics do.
    span.update_name(f"{method_label(scope['method'])} {route}")
    span.set_attribute("http.request.method", scope["method"])
    span.set_attribute("http.route", route)
    span.set_attribute("url.path", scope["path"])
    span.set_attribute("http.response.status_code", status)
    span.set_attribute("request_id", request_id)
    if run_id := scope.get("path_params", {}).get("run_id"):
        span.set_attribute("research.run_id", run_id)
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR))
