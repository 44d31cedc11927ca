"""Live progress: a run's durable event log over Server-Sent Events and over a WebSocket.

Each event's SSE `id` is its sequence number, so a client that reconnects with `Last-Event-ID`
(or `?after=`) gets exactly the events it missed, from this API process or any other.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, WebSocket
from fastapi.responses import Response, StreamingResponse
from prometheus_client import Gauge
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocketDisconnect
from temporalio.client import Client

from api.auth import unauthorized
from api.deps import RunHandleDep, SettingsDep, get_temporal_client, valid_run_id
from api.errors import ApiError
from api.event_feed import Comment, End, EventFeed, FeedItem, stream_of
from api.limits import StreamSlots, stream_caller
from api.metrics import SSE_STREAMS
from api.routes import API_PREFIX, error_responses
from api.runs_service import owned_run_handle
from api.sse_schema import SSE_RESPONSES
from domain.run import RunEvent

router = APIRouter(prefix=f"{API_PREFIX}/runs", tags=["runs"])

WS_STREAMS = Gauge("research_api_ws_streams", "WebSocket event streams open right now")
# EventSource waits this long before it reconnects after a dropped connection.
RETRY_MS = 2000
# RFC 6455: 1008 the request breaks policy (unknown run); 1013 try again later (Temporal down).
WS_POLICY_VIOLATION = 1008
WS_TRY_AGAIN_LATER = 1013

_EVENT_ID = re.compile(r"[0-9]{1,18}")


def resume_point(after: int | None, last_event_id: str | None) -> int:
    # A browser's EventSource sends the header on reconnect with the URL it first used, so the
    # header is the fresher of the two.
    if last_event_id is not None and last_event_id.strip():
        raw = last_event_id.strip()
        # ASCII digits only, and few enough for an int64: str.isdigit() passes "²" and "٣",
        # and int() fails on thousands of digits; both used to end in a 500.
        if not _EVENT_ID.fullmatch(raw):
            raise ApiError(
                422,
                "invalid_request",
                "Last-Event-ID must be the sequence number of an event",
                {"last_event_id": raw[:64]},
            )
        return int(raw)
    return after or 0


def sse_message(item: FeedItem) -> bytes:
    # JSON never holds a raw newline, so every payload fits one `data:` line.
    if isinstance(item, RunEvent):
        text = f"id: {item.seq}\nevent: {item.type}\ndata: {item.model_dump_json()}\n\n"
    elif isinstance(item, Comment):
        text = f": {item.text}\n\n"
    else:
        text = f"event: end\ndata: {json.dumps(asdict(item))}\n\n"
    return text.encode()


@router.get(
    "/{run_id}/events",
    response_class=StreamingResponse,
    responses={**SSE_RESPONSES, **error_responses(404, 422, 503)},
)
async def run_events(
    run_id: str,
    handle: RunHandleDep,
    settings: SettingsDep,
    request: Request,
    after: Annotated[int | None, Query(ge=0, description="Send events after this seq")] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> Response:
    """Live progress as Server-Sent Events; resume with `Last-Event-ID` or `after`."""
    after_seq = resume_point(after, last_event_id)
    feed = stream_of(
        request.app.state, settings, handle, run_id, after_seq, settings.sse_keepalive_s
    )
    await feed.open()  # before the response starts, so an unknown run is a plain 404
    if feed.exhausted:
        feed.close()
        # The SSE spec's way to tell EventSource to stop reconnecting.
        return Response(status_code=204)
    return CountedStream(
        _sse(feed, run_id),
        _slot(request.app, request.scope, feed),
        media_type="text/event-stream",
        # Proxies must neither cache nor buffer a live stream.
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


class CountedStream(StreamingResponse):
    """Gives its stream slot back however the response ends: done, client gone, or error."""

    def __init__(self, content: AsyncIterator[bytes], release: Callable[[], None], **kw: Any):
        super().__init__(content, **kw)
        self.release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.release()


def _slot(app: Any, scope: Scope, feed: EventFeed) -> Callable[[], None]:
    """The caller's stream slot (429 past its cap); giving it back also leaves the run's feed,
    even when the response never got to iterate it."""
    slots: StreamSlots = app.state.streams
    try:
        release = slots.acquire(stream_caller(scope))
    except BaseException:
        feed.close()
        raise

    def done() -> None:
        release()
        feed.close()

    return done


async def _sse(feed: EventFeed, run_id: str) -> AsyncIterator[bytes]:
    with SSE_STREAMS.track_inprogress():
        yield f"retry: {RETRY_MS}\n: events of run {run_id} after {feed.after}\n\n".encode()
        async for item in feed.items():
            yield sse_message(item)


@router.websocket("/{run_id}/ws")
async def run_events_ws(
    websocket: WebSocket,
    run_id: str,
    after: Annotated[int, Query(ge=0, description="Send events after this seq")] = 0,
) -> None:
    """The same events as JSON messages; closes (1000) after the terminal event."""
    await serve_ws(websocket, run_id, after, _send_item)


async def _send_item(websocket: WebSocket, item: FeedItem) -> None:
    if isinstance(item, RunEvent):
        await websocket.send_text(item.model_dump_json())
    elif isinstance(item, End):
        await websocket.send_json({"type": "end", **asdict(item)})


async def serve_ws(
    websocket: WebSocket,
    run_id: str,
    after: int,
    send: Callable[[WebSocket, FeedItem], Awaitable[None]],
) -> None:
    """Run `run_id`'s events after `after` over `websocket`, each item written by `send` (a
    seed's own event shape, say); closes (1000) after the terminal event."""
    await websocket.accept()
    try:
        settings = websocket.app.state.settings
        # Dependencies with Request do not run for WebSockets: the same check as get_run_handle.
        principal = websocket.scope.get("state", {}).get("principal")
        if principal is None and settings.auth_enabled:
            raise unauthorized("an API key is required")
        handle = await owned_run_handle(
            await _client(websocket), valid_run_id(run_id), principal, websocket.app.state.owners
        )
        feed = stream_of(websocket.app.state, settings, handle, valid_run_id(run_id), after, None)
        await feed.open()
        release = _slot(websocket.app, websocket.scope, feed)
    except ApiError as err:
        body = {"error_code": err.error_code, "message": err.message, "details": err.details}
        await websocket.send_json({**body, "request_id": None})
        code = WS_POLICY_VIOLATION if err.status < 500 else WS_TRY_AGAIN_LATER
        await websocket.close(code=code, reason=err.error_code)
        return
    WS_STREAMS.inc()
    sender = asyncio.create_task(_send_feed(websocket, feed, send))
    listener = asyncio.create_task(_until_disconnect(websocket))
    try:
        done, _ = await asyncio.wait({sender, listener}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        WS_STREAMS.dec()
        release()
        for task in (sender, listener):
            task.cancel()
        await asyncio.gather(sender, listener, return_exceptions=True)
    if sender in done and sender.exception() is None:
        await websocket.close(code=1000)


async def _client(websocket: WebSocket) -> Client:
    # Exception handlers do not reach WebSocket routes, so the client is resolved in here, where
    # an ApiError becomes a close code; the tests' dependency override still applies.
    override = websocket.app.dependency_overrides.get(get_temporal_client)
    return override() if override else await websocket.app.state.temporal.get()


async def _send_feed(
    websocket: WebSocket, feed: EventFeed, send: Callable[[WebSocket, FeedItem], Awaitable[None]]
) -> None:
    async for item in feed.items():
        await send(websocket, item)


async def _until_disconnect(websocket: WebSocket) -> None:
    # Only a receive notices a client that went away while the run is idle.
    try:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass
    except WebSocketDisconnect:
        pass
