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


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries documenting the shared error body for the given statuses."""
    return {status: {"model": ErrorBody} for status in statuses}
