"""A stub web on loopback: pages, a PDF, redirects, oversize and slow bodies, and a SearXNG.

The fetcher and the SearXNG provider talk to it over real HTTP, so everything from socket to
extraction runs as in production. `hits` counts requests per path, to tell a cache hit from a
fetch.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from tests.fakes.faults import FaultPlan, send_web_fault

ARTICLE = """<!doctype html><html><head><title>Flywheels store grid energy</title></head>
<body><nav><a href="/">Home</a> | <a href="/about">About</a> | Subscribe to our newsletter</nav>
<article><h1>Flywheels store grid energy</h1>
<p>A flywheel stores energy as rotation. Grid flywheels spin a heavy rotor in a vacuum and
give power back within milliseconds, which makes them good at frequency regulation.</p>
<p>Flywheel storage lasts for minutes rather than hours, so it complements batteries and
pumped hydro instead of replacing them. Modern rotors use carbon fibre composites.</p>
</article><footer>Copyright 2026 Example Energy News. Cookie settings.</footer></body></html>"""


def pdf_with_text(text: str) -> bytes:
    """A minimal one-page PDF whose page shows `text` (Helvetica), with a correct xref."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


PDF = pdf_with_text("Compressed air energy storage keeps air in salt caverns.")


class StubWeb:
    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.searxng_results: list[dict[str, object]] = []
        # The query parameters of every /search request, to see what a provider sent.
        self.searches: list[dict[str, list[str]]] = []
        # path -> random faults injected on it (the fault suite); no entry, no faults.
        self.faults: dict[str, FaultPlan] = {}
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                stub.hits[parts.path] += 1
                plan = stub.faults.get(parts.path)
                fault = plan.draw() if plan is not None else None
                if fault is not None:
                    assert plan is not None
                    send_web_fault(self, fault, plan.hang_s)
                    return
                stub.route(self, parts.path, parse_qs(parts.query))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> StubWeb:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def route(self, h: BaseHTTPRequestHandler, path: str, query: dict[str, list[str]]) -> None:
        if path == "/article.html":
            self.send(h, 200, "text/html; charset=utf-8", ARTICLE.encode())
        elif path == "/paper.pdf":
            self.send(h, 200, "application/pdf", PDF)
        elif path == "/download":
            self.send(h, 200, "application/octet-stream", PDF)
        elif path == "/latin1.html":
            page = "<html><head><title>Caf\u00e9 storage</title></head><body><p>Na\u00efve.</p>"
            self.send(h, 200, "text/html; charset=iso-8859-1", page.encode("latin-1"))
        elif path == "/image.png":
            self.send(h, 200, "image/png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
        elif path == "/huge.html":
            self.send(h, 200, "text/html", b"<p>" + b"x" * 200_000 + b"</p>")
        elif path.startswith("/hop/"):
            left = int(path.rsplit("/", 1)[1])
            target = "/article.html" if left == 0 else f"/hop/{left - 1}"
            h.send_response(302)
            h.send_header("location", target)
            h.send_header("content-length", "0")
            h.end_headers()
        elif path == "/slow.html":
            h.send_response(200)
            h.send_header("content-type", "text/html")
            h.end_headers()
            for _ in range(50):  # a byte every 0.1 s: each read is quick, the whole is not
                h.wfile.write(b"x")
                h.wfile.flush()
                time.sleep(0.1)
        elif path == "/search":
            self.searches.append(query)
            body = {"query": query.get("q", [""])[0], "results": self.searxng_results}
            self.send(h, 200, "application/json", json.dumps(body).encode())
        else:
            self.send(h, 404, "text/plain", b"not found")

    @staticmethod
    def send(h: BaseHTTPRequestHandler, status: int, kind: str, body: bytes) -> None:
        h.send_response(status)
        h.send_header("content-type", kind)
        h.send_header("content-length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)
