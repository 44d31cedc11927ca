"""A stub webhook receiver on loopback that fails, then recovers.

Each (path, event id) is answered 500 the first `failures` times it arrives and 200 after, as a
receiver that was down and came back; a path under `/gone` is always answered 410 (a receiver
that was removed: never retried). Every request is kept with whether its signature checked
out, so a test can assert each notification was accepted once, signed.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from providers.webhook import SIGNATURE_HEADER, verify


@dataclass
class Received:
    path: str
    event_id: str
    body: dict[str, Any]
    signed: bool
    status: int


class WebhookReceiver:
    def __init__(self, secret: str, failures: int = 1) -> None:
        self.secret = secret
        self.failures = failures
        self.received: list[Received] = []
        self._tries: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def accepted(self, path: str) -> list[Received]:
        """The deliveries to `path` that were answered 200, in arrival order."""
        with self._lock:
            return [r for r in self.received if r.path == path and r.status == 200]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", "0")))
                event_id = self.headers.get("Idempotency-Key", "")
                signed = verify(receiver.secret, self.headers.get(SIGNATURE_HEADER, ""), raw)
                with receiver._lock:
                    receiver._tries[(self.path, event_id)] += 1
                    failing = receiver._tries[(self.path, event_id)] <= receiver.failures
                    status = 500 if failing else 200
                    if self.path.startswith("/gone"):
                        status = 410
                    body = json.loads(raw)
                    receiver.received.append(Received(self.path, event_id, body, signed, status))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

        return Handler
