"""The REST client's exceptions: nothing answered (ApiUnreachable) or an error reply (ApiError).

Apart from cli/client.py so the commands that only catch them need not know the client.
"""

from __future__ import annotations

from typing import Any

import httpx


class ApiUnreachable(Exception):
    """Nothing answered at the API's address."""

    def __init__(self, base_url: str, broken: str | None = None) -> None:
        self.base_url = base_url
        # Why a connection that was open stopped (None: nothing ever answered).
        self.broken = broken
        if broken is None:
            message = f"cannot reach the API at {base_url}: is `research up` running?"
        else:
            message = f"the API at {base_url} stopped answering: {broken}"
        super().__init__(message)


class ApiError(Exception):
    """The API answered with an error body `{error_code, message, details, request_id}`."""

    def __init__(self, status: int, body: dict[str, Any] | None, fallback: str) -> None:
        body = body or {}
        self.status = status
        self.error_code = str(body.get("error_code") or f"http_{status}")
        self.request_id = body.get("request_id")
        self.details = body.get("details")
        message = str(body.get("message") or fallback or "no message")
        suffix = f" (request {self.request_id})" if self.request_id else ""
        super().__init__(f"{self.error_code}: {message}{suffix}")


def api_error(response: httpx.Response) -> ApiError:
    """The ApiError for an error reply, from its JSON body or, without one, its text."""
    try:
        body = response.json()
    except ValueError:
        body = None
    fallback = response.text.strip()[:200] or response.reason_phrase
    return ApiError(response.status_code, body if isinstance(body, dict) else None, fallback)


def transport_reason(exc: Exception) -> str:
    """Why a connection failed, in words (`ApiUnreachable.broken`)."""
    text = str(exc).strip()
    return text or type(exc).__name__
