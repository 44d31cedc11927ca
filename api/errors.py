"""One error shape for every failure: `{error_code, message, details, request_id}`.

Temporal's exceptions are translated here and only here, so a route never builds an error body
by hand and a client can switch on `error_code` alone.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.client import (
    RPCTimeoutOrCancelledError,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError, TemporalError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"

Subject = Literal["run", "approval"]

# Update validators name their refusal in ApplicationError.type; the status follows the meaning:
# a conflict with the run's current state, a body the workflow cannot accept, or a thing the
# path names that the run does not hold (a claim id: api/routes/claims.py).
CONFLICT_CODES = frozenset({"wrong_stage", "nothing_pending"})
UNPROCESSABLE_CODES = frozenset(
    {"unknown_question", "empty_answer", "invalid_decision", "invalid_plan"}
)
NOT_FOUND_CODES = frozenset({"unknown_claim"})

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


class ApiError(Exception):
    """An error meant for the client; raised anywhere, rendered by `api_error_handler`."""

    def __init__(
        self,
        status: int,
        error_code: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message
        self.details = details or {}
        self.headers = headers


def request_id_of(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def error_response(
    request: Request,
    status: int,
    error_code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    request_id = request_id_of(request)
    body = {
        "error_code": error_code,
        "message": message,
        "details": details or {},
        "request_id": request_id,
    }
    out_headers = dict(headers or {})
    if request_id:
        out_headers[REQUEST_ID_HEADER] = request_id
    return JSONResponse(body, status_code=status, headers=out_headers)


def temporal_api_error(err: BaseException, subject: Subject = "run") -> ApiError:
    """The HTTP meaning of a Temporal client exception (no I/O; see `temporal_calls` for probes)."""
    if isinstance(err, WorkflowAlreadyStartedError):
        return ApiError(409, f"{subject}_exists", f"a {subject} with this id already exists")
    if isinstance(err, WorkflowUpdateFailedError):
        return _update_refusal(err.cause)
    if isinstance(err, WorkflowUpdateRPCTimeoutOrCancelledError):
        # The update may still land later; the same request_id makes a retry safe.
        return ApiError(
            504,
            "update_timeout",
            "no worker took the input in time; retry with the same request_id",
        )
    if isinstance(err, RPCTimeoutOrCancelledError):
        return ApiError(504, "temporal_timeout", "Temporal did not answer in time")
    if isinstance(err, WorkflowQueryFailedError | WorkflowQueryRejectedError):
        return ApiError(503, "status_unavailable", f"the {subject} could not be queried: {err}")
    if isinstance(err, RPCError):
        return _rpc_error(err, subject)
    if isinstance(err, TemporalError):
        return ApiError(502, "temporal_error", str(err))
    raise TypeError(f"not a Temporal error: {err!r}") from err


def _update_refusal(cause: BaseException) -> ApiError:
    if isinstance(cause, ApplicationError) and cause.type:
        code = cause.type
        status = 422 if code in UNPROCESSABLE_CODES else 404 if code in NOT_FOUND_CODES else 409
        details = cause.details[0] if cause.details and isinstance(cause.details[0], dict) else {}
        return ApiError(status, code, cause.message, details)
    return ApiError(409, "update_rejected", str(cause) or "the workflow refused the input")


def _rpc_error(err: RPCError, subject: Subject) -> ApiError:
    code = err.status
    if code == RPCStatusCode.NOT_FOUND:
        return ApiError(404, f"{subject}_not_found", f"no such {subject}")
    if code == RPCStatusCode.ALREADY_EXISTS:
        return ApiError(409, f"{subject}_exists", f"a {subject} with this id already exists")
    if code in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
        return ApiError(504, "temporal_timeout", "Temporal did not answer in time")
    if code == RPCStatusCode.INVALID_ARGUMENT:
        return ApiError(422, "invalid_request", err.message)
    if code == RPCStatusCode.RESOURCE_EXHAUSTED:
        return ApiError(429, "temporal_busy", err.message, headers={"Retry-After": "1"})
    if code == RPCStatusCode.FAILED_PRECONDITION:
        return ApiError(409, "conflict", err.message)
    # Unavailable, or our own credentials refused: either way the service cannot reach Temporal.
    if code in (
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.UNAUTHENTICATED,
        RPCStatusCode.PERMISSION_DENIED,
    ):
        return temporal_unavailable(err.message)
    return ApiError(502, "temporal_error", err.message)


def temporal_unavailable(reason: str) -> ApiError:
    return ApiError(
        503,
        "temporal_unavailable",
        "the Temporal server is not reachable",
        {"reason": reason},
        headers={"Retry-After": "2"},
    )


def _json_safe_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Raw pydantic errors may carry exception objects in `ctx` and echo whole inputs back.
    out = []
    for e in exc.errors():
        item: dict[str, Any] = {
            "loc": list(e.get("loc", ())),
            "msg": e.get("msg", ""),
            "type": e.get("type", ""),
        }
        if ctx := e.get("ctx"):
            item["ctx"] = {
                k: v if isinstance(v, int | float | str | bool) else str(v) for k, v in ctx.items()
            }
        out.append(item)
    return out


async def api_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(
        request, exc.status, exc.error_code, exc.message, exc.details, exc.headers
    )


async def validation_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(
        request,
        422,
        "invalid_request",
        "the request is not valid",
        {"errors": _json_safe_errors(exc)},
    )


async def http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return error_response(request, exc.status_code, code, message, headers=exc.headers)


async def temporal_error_handler(request: Request, exc: Exception) -> JSONResponse:
    # Backstop for Temporal calls made outside `temporal_calls`; those map with subject "run".
    err = temporal_api_error(exc)
    if err.status >= 500:
        log.warning("temporal call failed: %r", exc)
    return await api_error_handler(request, err)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, api_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(TemporalError, temporal_error_handler)
