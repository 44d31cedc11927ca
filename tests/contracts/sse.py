"""A seed client's view of a Server-Sent Events stream: (id, event, data) until it ends."""

from __future__ import annotations

import json
from typing import Any

import httpx

SseEvent = tuple[str | None, str, dict[str, Any]]


async def read_sse(url: str, headers: dict[str, str] | None = None) -> list[SseEvent]:
    """Every event of the stream at `url` (comments skipped), read until the server ends it."""
    events: list[SseEvent] = []
    fields: dict[str, str] = {}
    async with (
        httpx.AsyncClient(timeout=60) as http,
        http.stream("GET", url, headers=headers) as resp,
    ):
        assert resp.status_code == 200, await resp.aread()
        assert resp.headers["content-type"].startswith("text/event-stream")
        async for line in resp.aiter_lines():
            if line == "":
                if "event" in fields:
                    events.append((fields.get("id"), fields["event"], json.loads(fields["data"])))
                fields = {}
            elif not line.startswith(":"):
                key, _, value = line.partition(":")
                fields[key] = value.removeprefix(" ")
    return events
