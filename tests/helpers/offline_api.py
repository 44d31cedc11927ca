"""The API with no Temporal behind it: for tests that prove a request is refused before any
Temporal call, and that every refusal has the one error shape."""

from __future__ import annotations

from typing import Any

import httpx


class UntouchableClient:
    """Hands out handles, but any Temporal call on them fails the test."""

    namespace = "default"

    def get_workflow_handle_for(self, *args: Any, **kwargs: Any) -> Any:
        return self

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the route called Temporal ({name}) for a request it should refuse")


def assert_error(resp: httpx.Response, status: int, error_code: str) -> dict[str, Any]:
    """The standard error body with `status` and `error_code`; returns the body."""
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["error_code"] == error_code, body
    assert set(body) == {"error_code", "message", "details", "request_id"}
    assert body["request_id"] == resp.headers["X-Request-ID"]
    return body
