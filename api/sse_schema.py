"""The OpenAPI description of the event stream (`GET /runs/{id}/events`): what one message
holds, since OpenAPI has no type for a stream of them."""

from __future__ import annotations

from typing import Any

# One event of the stream (OpenAPI 3.1 tools read an event-stream `schema` as one event, not the
# whole stream): `data` is a RunEvent as JSON, or for `end` the reason the stream stopped.
_RUN_EVENT_DATA = {
    "type": "object",
    "required": ["seq", "at", "type"],
    "properties": {
        "seq": {"type": "integer"},
        "at": {"type": "string", "format": "date-time"},
        "type": {"type": "string"},
        "stage": {"type": ["string", "null"]},
        "message": {"type": "string"},
        "data": {"type": "object"},
    },
}
_END_DATA = {
    "type": "object",
    "required": ["reason", "message", "last_seq"],
    "properties": {
        "reason": {"enum": ["closed", "log_unavailable", "run_gone", "lagging"]},
        "message": {"type": "string"},
        "last_seq": {"type": "integer"},
        "temporal_status": {"type": ["string", "null"]},
    },
}
SSE_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "id": {"type": "string", "pattern": "^[0-9]+$", "description": "the event's seq"},
        "event": {"type": "string", "description": "the RunEvent's type, or `end`"},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "contentSchema": {"anyOf": [_RUN_EVENT_DATA, _END_DATA]},
        },
        "retry": {"type": "integer"},
    },
}
SSE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "`text/event-stream`: `id` = sequence number, `event` = type, "
        "`data` = the RunEvent as JSON; an `end` event (no id) when the run closed without "
        "a `finished` event",
        "content": {"text/event-stream": {"schema": SSE_EVENT_SCHEMA}},
    },
    204: {"description": "The run has finished and the client has every event"},
}
