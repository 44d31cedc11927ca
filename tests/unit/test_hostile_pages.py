"""Hostile pages against the page fetcher: gzip bombs, stacked codings, DNS rebinding, proxies.

Everything talks to stub servers of ours on 127.0.0.1. The rebinding test patches the resolver
(`socket.getaddrinfo`, under both our guard and httpx) for one made-up name; its single public
answer is consumed by the pre-flight check, which never connects, so no traffic leaves loopback.
"""

from __future__ import annotations

import gzip
import socket
import threading
import tracemalloc
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError

from providers.artifacts import ArtifactStore
from providers.fetch import FetchPolicy
from providers.web_read import WebReader

LIMIT = 100_000
OPEN = FetchPolicy(timeout_s=5.0, max_bytes=LIMIT, allow_private=True)
PAGE = b"<html><head><title>Small</title></head><body><p>A small honest page.</p></body></html>"
BOMB = gzip.compress(b"\0" * 50_000_000, compresslevel=9)  # ~50 KB that inflate to 50 MB
DOUBLE = gzip.compress(BOMB, compresslevel=9)  # stacked: the outer layer is tiny
# path -> (headers, body)
ROUTES: dict[str, tuple[dict[str, str], bytes]] = {
    "/bomb.html": ({"Content-Encoding": "gzip"}, BOMB),
    "/double.html": ({"Content-Encoding": "gzip, gzip"}, DOUBLE),
    "/brotli.html": ({"Content-Encoding": "br"}, b"\x8b\x02\x80hello\x03"),
    "/gzipped.html": ({"Content-Encoding": "gzip"}, gzip.compress(PAGE)),
    # Cut off inside the deflate stream: a complete-looking response of a partial page.
    "/truncated.html": ({"Content-Encoding": "gzip"}, gzip.compress(PAGE * 40)[:-60]),
    "/page.html": ({}, PAGE),
}


class Stub:
    """A loopback HTTP server that serves ROUTES and remembers every request it received."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                stub.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                headers, body = ROUTES.get(self.path, ({}, b""))
                self.send_response(200 if self.path in ROUTES else 404)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]


def _name(host: str | bytes | None) -> str | None:
    # anyio (under httpx) asks for the IDNA-encoded bytes, asyncio for the str.
    return host.decode() if isinstance(host, bytes) else host


@pytest.fixture
def stub() -> Iterator[Stub]:
    server = Stub()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def store(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(tmp_path / "artifacts")


async def read_refused(reader: WebReader, url: str) -> tuple[ApplicationError, int]:
    """The refusal reading `url` ends in, and the peak of Python memory while it ran."""
    tracemalloc.start()
    try:
        with pytest.raises(ApplicationError) as caught:
            await reader.read(url)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return caught.value, peak


async def test_gzip_bomb_stops_at_the_limit_without_inflating(stub: Stub, store) -> None:
    error, peak = await read_refused(
        WebReader(store, OPEN), f"http://127.0.0.1:{stub.port}/bomb.html"
    )
    assert error.type == "too_large" and error.non_retryable
    # Before: httpx inflated a whole chunk (tens of MB) before the limit looked.
    assert peak < 5_000_000, f"peak {peak} bytes"


async def test_stacked_codings_are_refused_unread(stub: Stub, store) -> None:
    url = f"http://127.0.0.1:{stub.port}/double.html"
    error, peak = await read_refused(WebReader(store, OPEN), url)
    assert error.type == "unsupported_encoding" and error.non_retryable
    assert peak < 5_000_000, f"peak {peak} bytes"


async def test_unknown_coding_is_refused_and_only_gzip_is_asked_for(stub: Stub, store) -> None:
    error, _ = await read_refused(
        WebReader(store, OPEN), f"http://127.0.0.1:{stub.port}/brotli.html"
    )
    assert error.type == "unsupported_encoding" and "'br'" in error.message
    assert stub.requests[0][1]["accept-encoding"] == "gzip"


async def test_an_honest_gzipped_page_still_reads(stub: Stub, store) -> None:
    page = await WebReader(store, OPEN).read(f"http://127.0.0.1:{stub.port}/gzipped.html")
    assert page.title == "Small" and "small honest page" in page.text


async def test_a_gzip_body_cut_off_before_its_end_is_refused(stub: Stub, store) -> None:
    url = f"http://127.0.0.1:{stub.port}/truncated.html"
    error, _ = await read_refused(WebReader(store, OPEN), url)
    assert error.type == "unreadable_content" and "end marker" in error.message


async def test_a_name_that_rebinds_to_loopback_gets_no_request(
    stub: Stub, store: ArtifactStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = socket.getaddrinfo
    answers = iter(["93.184.215.14"])  # public once (what the check sees), loopback after

    def rebinding(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if _name(host) != "rebind.invalid":
            return real(host, port, *args, **kwargs)
        address = next(answers, "127.0.0.1")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port)))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    reader = WebReader(store, FetchPolicy(timeout_s=5.0))
    with pytest.raises(ApplicationError) as caught:
        await reader.read(f"http://rebind.invalid:{stub.port}/page.html")
    assert caught.value.type == "address_blocked" and "127.0.0.1" in caught.value.message
    assert stub.requests == []  # before: the GET reached the internal server, then was refused


async def test_the_checked_address_is_dialled_and_the_host_name_kept(
    stub: Stub, store: ArtifactStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = socket.getaddrinfo

    def pages(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if _name(host) != "pages.invalid":
            return real(host, port, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", int(port)))]

    monkeypatch.setattr(socket, "getaddrinfo", pages)
    page = await WebReader(store, OPEN).read(f"http://pages.invalid:{stub.port}/page.html")
    assert page.title == "Small"
    assert stub.requests[0][1]["host"] == f"pages.invalid:{stub.port}"


async def test_proxy_environment_is_ignored(
    stub: Stub, store: ArtifactStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = Stub()  # anything it receives was sent through the "proxy"
    try:
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.setenv(name, f"http://127.0.0.1:{proxy.port}")
        page = await WebReader(store, OPEN).read(f"http://127.0.0.1:{stub.port}/page.html")
        assert page.title == "Small"
        assert proxy.requests == [] and stub.paths() == ["/page.html"]
    finally:
        proxy.server.shutdown()
        proxy.server.server_close()
