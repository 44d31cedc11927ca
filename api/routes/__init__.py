"""Route modules, one per resource, all mounted under API_PREFIX."""

from __future__ import annotations

from typing import Any

from api.schemas import ErrorBody

API_PREFIX = "/api/v1"


def run_url(run_id: str, suffix: str = "") -> str:
    # Relative paths: correct behind any proxy, no dependency on the Host header.
    return f"{API_PREFIX}/runs/{run_id}{suffix}"


def approval_url(approval_id: str, suffix: str = "") -> str:
    return f"{API_PREFIX}/approvals/{approval_id}{suffix}"


# What the guard in front of the routes (api/guard.py) answers before a route runs: 401
# without a valid API key (auth on), 403 to a remote caller (auth off: loopback only), 429 over
# the caller's rate limit.
GUARD_ERRORS = (401, 403, 429)
# What a route that reads a JSON body answers besides its own errors: 400 for a body that is not
# text at all (e.g. invalid UTF-8; malformed JSON is a 422), 413 over the body size limit.
BODY_ERRORS = (400, 413)


def error_responses(
    *statuses: int, guarded: bool = True, body: bool = False
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries documenting the shared error body for the given statuses.

    `guarded` (every route but the open probes) adds the guard's refusals; `body` (routes that
    read a JSON body) adds the body's. Documented here once, so the fuzz test (tests/
    test_api_fuzz.py), which fails on any status the schema does not name, keeps them honest.
    """
    codes = {*statuses, *(GUARD_ERRORS if guarded else ()), *(BODY_ERRORS if body else ())}
    return {status: {"model": ErrorBody} for status in sorted(codes)}
