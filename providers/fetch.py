"""Fetching a web page safely: bounded in time, size and redirects, and never into our network.

A question must not make the worker probe its own network (cloud metadata at 169.254.169.254,
admin consoles on 10/8). The page client (`page_client`) connects through the guard of
`providers.ssrf`, which resolves each host once and dials only an address it checked, so a name
that rebinds between check and connect reaches nothing. `fetch` also checks every URL, including
each redirect target (redirects are followed by hand for that reason), before asking: a clear
refusal early, and the only check a test transport gets. The peer a response came from is checked
once more, for clients built without the guard.

The body is read raw and inflated here, not by httpx: httpx decodes a whole chunk (and stacked
codings) at once, so a few hundred compressed bytes became hundreds of megabytes before any limit
looked. We ask for gzip only, refuse stacked or unknown codings, and stop inflating at the limit.
"""

from __future__ import annotations

import socket
import zlib
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx
from temporalio.exceptions import ApplicationError

from providers.http_errors import status_error, transport_error
from providers.ssrf import GuardedBackend, blocked, check_all, parse_ip, resolve

# The types we can turn into text; anything else (images, archives, video) is refused unread.
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
TEXT_TYPES = frozenset({"text/plain", "text/markdown"})
PDF_TYPES = frozenset({"application/pdf"})
READABLE_TYPES = HTML_TYPES | TEXT_TYPES | PDF_TYPES
# Servers that do not know what they serve; such a body is read only if it turns out a PDF.
SNIFFED_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# The one content-coding we ask for and inflate; anything else (br, zstd, stacked) is refused.
ACCEPT_ENCODING = "gzip"
_GZIP = frozenset({"gzip", "x-gzip"})


@dataclass(frozen=True)
class FetchPolicy:
    timeout_s: float = 20.0
    max_bytes: int = 5_000_000
    max_redirects: int = 5
    allow_private: bool = False


@dataclass(frozen=True)
class Fetched:
    url: str
    content_type: str
    body: bytes
    charset: str | None = None


def refused(message: str, kind: str) -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)


async def check_address(url: str, policy: FetchPolicy) -> None:
    """Refuse URLs that are not http(s), and hosts resolving to a non-public address."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise refused(f"not an http(s) URL: {url!r}", "bad_url")
    if policy.allow_private:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = await resolve(parts.hostname, port)
    except socket.gaierror as exc:
        # An unknown name may be a resolver hiccup; the retry policy's cap ends a real one.
        raise ApplicationError(f"cannot resolve {parts.hostname}: {exc}", type="dns_error") from exc
    check_all(parts.hostname, addresses, url)


def check_connected(response: httpx.Response, url: str, policy: FetchPolicy) -> None:
    """Refuse a response whose connection reached a non-public address after all."""
    stream = response.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    if policy.allow_private or not peer:
        return  # no socket to ask (test transports); the resolution check stands alone then
    ip = parse_ip(str(peer[0]))
    if blocked(ip):
        raise refused(f"refusing {url}: the connection reached non-public {ip}", "address_blocked")


def media_type(response: httpx.Response) -> str:
    return response.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def fetch(client: httpx.AsyncClient, url: str, policy: FetchPolicy) -> Fetched:
    """The body at `url` after at most `policy.max_redirects` checked redirects."""
    what = "fetch"
    for _ in range(policy.max_redirects + 1):
        await check_address(url, policy)
        try:
            headers = {"accept-encoding": ACCEPT_ENCODING}
            async with client.stream(
                "GET", url, headers=headers, follow_redirects=False
            ) as response:
                check_connected(response, url, policy)
                if response.status_code in _REDIRECTS and "location" in response.headers:
                    url = urljoin(url, response.headers["location"])
                    continue
                error = status_error(f"{what} {url}", response)
                if error is not None and error.type == "bad_credentials":
                    # A page's 401/403 says nothing about our keys: the page is just closed.
                    raise refused(f"{what} {url}: HTTP {response.status_code}", "fetch_forbidden")
                if error is not None:
                    raise error
                kind = media_type(response)
                if kind not in READABLE_TYPES | SNIFFED_TYPES:
                    raise refused(
                        f"unsupported content type {kind!r} at {url}", "unsupported_content"
                    )
                body = await _read_bounded(response, policy.max_bytes, url)
                if kind in SNIFFED_TYPES:
                    if not body.startswith(b"%PDF-"):
                        raise refused(f"unknown content at {url} ({kind!r})", "unsupported_content")
                    kind = "application/pdf"
                return Fetched(str(response.url), kind, body, response.charset_encoding)
        except httpx.HTTPError as exc:
            raise transport_error(f"{what} {url}", exc) from exc
    raise refused(
        f"more than {policy.max_redirects} redirects, last to {url}", "too_many_redirects"
    )


def page_client(policy: FetchPolicy) -> httpx.AsyncClient:
    """The client for page reads: the guard dials, and the environment has no say.

    `trust_env=False`: a proxy named in HTTP(S)_PROXY would make the connection (and so the
    address check) somebody else's, and `.netrc` would hand a page our credentials.
    """
    return httpx.AsyncClient(
        timeout=httpx.Timeout(policy.timeout_s),
        transport=GuardedTransport(policy),
        trust_env=False,
        headers={"accept-encoding": ACCEPT_ENCODING},
    )


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport on a connection pool whose network layer is the SSRF guard."""

    def __init__(self, policy: FetchPolicy) -> None:
        super().__init__(trust_env=False)
        # httpx takes no network backend, so the pool it built is replaced by one that has ours;
        # the other arguments are httpx's defaults.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=GuardedBackend(policy.allow_private),
        )


def _content_coding(response: httpx.Response, url: str) -> str | None:
    codings = [c.strip().lower() for c in response.headers.get("content-encoding", "").split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if len(codings) > 1:
        raise refused(f"{url}: stacked content-codings {codings} refused", "unsupported_encoding")
    if codings and codings[0] not in _GZIP:
        raise refused(f"{url}: content-coding {codings[0]!r} refused", "unsupported_encoding")
    return codings[0] if codings else None


def _inflate(decoder: zlib._Decompress, data: bytes, room: int, url: str) -> bytes:
    """What `data` inflates to, refused as soon as it passes `room` bytes (a bomb)."""
    out = bytearray()
    while data and not decoder.eof:
        try:
            # max_length keeps each step within the room left: the bomb never unpacks in memory.
            out += decoder.decompress(data, room - len(out) + 1)
        except zlib.error as exc:
            raise refused(f"{url}: broken gzip body ({exc})", "unreadable_content") from exc
        if len(out) > room:
            raise refused(f"{url} is over the {room}-byte limit once inflated", "too_large")
        data = decoder.unconsumed_tail
    return bytes(out)


async def _read_bounded(response: httpx.Response, limit: int, url: str) -> bytes:
    coding = _content_coding(response, url)
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise refused(f"{url} is {declared} bytes, over the {limit}-byte limit", "too_large")
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS) if coding else None
    body = bytearray()
    received = 0
    # The header can lie or be absent (chunked): count what actually arrives, and what it
    # inflates to.
    async for chunk in response.aiter_raw():
        received += len(chunk)
        if received > limit:
            raise refused(f"{url} is over the {limit}-byte limit", "too_large")
        body += _inflate(decoder, chunk, limit - len(body), url) if decoder else chunk
        if len(body) > limit:
            raise refused(f"{url} is over the {limit}-byte limit", "too_large")
    if decoder is not None and not decoder.eof:
        # The stream ended inside the gzip data: a cut-off page must not pass for the whole one.
        raise refused(f"{url}: the gzip body ends before its end marker", "unreadable_content")
    return bytes(body)
