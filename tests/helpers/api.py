"""The REST facade as the API tests drive it: its runs path, a quick run's options, the error
code of a response and a poll of a run's view until a condition holds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx

RUNS = "/api/v1/runs"
FAST = {"depth": 1, "breadth": 2}


def code(resp: httpx.Response) -> tuple[int, str | None]:
    body = resp.json()
    return resp.status_code, body.get("error_code") if isinstance(body, dict) else None


async def poll(
    api: httpx.AsyncClient, run_id: str, until: Callable[[dict[str, Any]], bool], within: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + within
    view: dict[str, Any] = {}
    while time.monotonic() < deadline:
        resp = await api.get(f"{RUNS}/{run_id}")
        assert resp.status_code == 200, resp.text
        view = resp.json()
        if until(view):
            return view
        await asyncio.sleep(0.2)
    raise AssertionError(f"not reached in {within}s: {view}")


def pending(kind: str) -> Callable[[dict[str, Any]], bool]:
    return lambda v: (v.get("pending") or {}).get("kind") == kind
