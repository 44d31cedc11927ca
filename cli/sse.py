"""Reading a run's event stream: an SSE line parser and a follower that resumes after drops.

The server numbers events, so a dropped connection (or an API restart) costs nothing: the
follower reconnects with `Last-Event-ID` set to the last event it handed out.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from cli.client import ApiClient
from cli.client_errors import ApiError, ApiUnreachable
from domain.run import RunEvent

# Consecutive failed reconnects before the follower gives up (about a minute with the backoff).
MAX_RECONNECTS = 15
BACKOFF_S = (0.5, 1.0, 2.0, 4.0)


@dataclass
class SseMessage:
    event: str = "message"
    data: str = ""
    id: str | None = None
    comment: str | None = None


@dataclass(frozen=True)
class StreamEnd:
    """The server's `end` event: the run closed without a `finished` event, and why."""

    reason: str
    message: str
    last_seq: int
    temporal_status: str | None = None


class SseParser:
    """Turns `text/event-stream` lines into messages (comments included, for the curious)."""

    def __init__(self) -> None:
        self._event: str | None = None
        self._data: list[str] = []
        self._id: str | None = None

    def feed(self, line: str) -> SseMessage | None:
        if not line:
            if self._event is None and not self._data and self._id is None:
                return None
            message = SseMessage(self._event or "message", "\n".join(self._data), self._id)
            self._event, self._data, self._id = None, [], None
            return message
        if line.startswith(":"):
            return SseMessage(event="", comment=line[1:].removeprefix(" "))
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            self._id = value
        return None  # `retry` and unknown fields: nothing a reader needs

    def messages(self, lines: Iterable[str]) -> Iterator[SseMessage]:
        for line in lines:
            if (message := self.feed(line.rstrip("\r"))) is not None:
                yield message


def follow_events(
    client: ApiClient,
    run_id: str,
    after: int = 0,
    on_reconnect: Callable[[int, str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[RunEvent | StreamEnd]:
    """Every event after `after` until the run's last, across dropped connections."""
    failures = 0
    while True:
        try:
            with client.event_stream(run_id, after) as lines:
                if lines is None:
                    return  # 204: the run is over and we had everything
                for message in SseParser().messages(lines):
                    failures = 0  # the line works again
                    if message.comment is not None:
                        continue
                    if message.event == "end":
                        yield StreamEnd(**json.loads(message.data))
                        return
                    event = RunEvent.model_validate_json(message.data)
                    after = event.seq
                    yield event
                    if event.type == "finished":
                        return
            reason = "the stream closed before the run finished"
        except ApiUnreachable as exc:
            reason = str(exc)
        except ApiError as exc:
            if exc.status < 500:
                raise  # the run is unknown, or the request is wrong: retrying cannot help
            reason = str(exc)  # Temporal or the API is restarting: try again
        failures += 1
        if failures > MAX_RECONNECTS:
            raise ApiUnreachable(client.base_url, f"gave up reconnecting: {reason}")
        if on_reconnect is not None:
            on_reconnect(after, reason)
        sleep(BACKOFF_S[min(failures, len(BACKOFF_S)) - 1])
