"""Fault injection for the fakes: a seeded plan that turns a set share of replies into failures.

The fault suite (`tests/faults/`) hands one `FaultPlan` to the scripted LLM and one to the stub
web. Each request draws from the plan: most get their normal reply, the rest one of the faults a
real provider produces: 429 with Retry-After, 500, a reply that never comes before the client's
timeout, or a 200 whose body is cut off mid-JSON (a proxy or a dying server). `injected` counts
what was handed out, so the suite can show that faults really happened.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from starlette.responses import JSONResponse, Response

FAULT_KINDS = ("429", "500", "timeout", "malformed")
# A 200 with a JSON content type whose body stops mid-object, as when a connection drops.
TRUNCATED_BODY = b'{"id": "chatcmpl-fake", "object": "chat.completion", "choices": [{"mess'


@dataclass
class FaultPlan:
    """`rate` of requests fail, each with a kind drawn from `kinds`; seeded, so runs repeat."""

    rate: float
    kinds: tuple[str, ...] = FAULT_KINDS
    seed: int = 0
    # How long a "timeout" holds its reply: longer than the client waits.
    hang_s: float = 4.0
    injected: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - {*FAULT_KINDS, "garbled"}
        if unknown:
            raise ValueError(f"unknown fault kinds: {sorted(unknown)}")
        self._rng = random.Random(self.seed)
        # The fakes serve requests from several threads (uvicorn's loop, http.server threads).
        self._lock = threading.Lock()

    def draw(self) -> str | None:
        """The fault for this request, or None for a normal reply."""
        with self._lock:
            if self._rng.random() >= self.rate:
                return None
            kind = self._rng.choice(self.kinds)
            self.injected[kind] += 1
            return kind

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.injected.values())


async def llm_fault_response(kind: str, hang_s: float) -> Response:
    """The fake LLM's reply for an injected fault ("garbled" is handled by the caller)."""
    if kind == "429":
        return JSONResponse(
            {"error": {"message": "injected 429", "type": "rate_limit_error"}},
            429,
            headers={"retry-after": "1"},
        )
    if kind == "500":
        return JSONResponse({"error": {"message": "injected 500"}}, 500)
    if kind == "timeout":
        # The client gives up first; what comes after it left is never read.
        await asyncio.sleep(hang_s)
        return JSONResponse({"error": {"message": "injected timeout"}}, 504)
    if kind == "malformed":
        return Response(TRUNCATED_BODY, 200, media_type="application/json")
    raise ValueError(f"no HTTP fault for {kind!r}")


def send_web_fault(h: BaseHTTPRequestHandler, kind: str, hang_s: float) -> None:
    """The stub web's reply for an injected fault, written on a `http.server` handler."""
    if kind == "timeout":
        time.sleep(hang_s)  # each request has its own thread (ThreadingHTTPServer)
        status, kind_header, body = 504, "text/plain", b"injected timeout"
    elif kind == "malformed":
        status, kind_header, body = 200, "application/json", b'{"query": "x", "results": [{"ur'
    elif kind in ("429", "500"):
        status, kind_header, body = int(kind), "text/plain", f"injected {kind}".encode()
    else:
        raise ValueError(f"no HTTP fault for {kind!r}")
    try:
        h.send_response(status)
        h.send_header("content-type", kind_header)
        if status == 429:
            h.send_header("retry-after", "1")
        h.send_header("content-length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client timed out and left, as it should
