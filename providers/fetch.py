"""Fetching a web page safely: bounded in time, size and redirects, and never into our network.

A question must not make the worker probe its own network (cloud metadata at 169.254.169.254,
admin consoles on 10/8), so every host, including each redirect target, is resolved and every
address it resolves to is checked before we connect. Redirects are followed by hand for that
reason. A name can resolve differently a moment later (DNS rebinding), so the address the
connection actually reached is checked again before a byte of the body is read.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx
from temporalio.exceptions import ApplicationError

from providers.http_errors import status_error, transport_error

# The types we can turn into text; anything else (images, archives, video) is refused unread.
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
TEXT_TYPES = frozenset({"text/plain", "text/markdown"})
PDF_TYPES = frozenset({"application/pdf"})
READABLE_TYPES = HTML_TYPES | TEXT_TYPES | PDF_TYPES
# Servers that do not know what they serve; such a body is read only if it turns out a PDF.
SNIFFED_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


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


def _blocked(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback too
    return not ip.is_global or ip.is_multicast


async def check_address(url: str, policy: FetchPolicy) -> None:
    """Refuse URLs that are not http(s), and hosts resolving to a non-public address."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise refused(f"not an http(s) URL: {url!r}", "bad_url")
    if policy.allow_private:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            parts.hostname, port, type=socket.SOCK_STREAM
        )
    except socket.gaierror as exc:
        # An unknown name may be a resolver hiccup; the retry policy's cap ends a real one.
        raise ApplicationError(f"cannot resolve {parts.hostname}: {exc}", type="dns_error") from exc
    for info in infos:
        ip = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if _blocked(ip):
            raise refused(
                f"refusing to fetch {url}: {parts.hostname} resolves to non-public address {ip}",
                "address_blocked",
            )


def check_connected(response: httpx.Response, url: str, policy: FetchPolicy) -> None:
    """Refuse a response whose connection reached a non-public address after all."""
    stream = response.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    if policy.allow_private or not peer:
        return  # no socket to ask (test transports); the resolution check stands alone then
    ip = ipaddress.ip_address(str(peer[0]).split("%", 1)[0])
    if _blocked(ip):
        raise refused(f"refusing {url}: the connection reached non-public {ip}", "address_blocked")


def media_type(response: httpx.Response) -> str:
    return response.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def fetch(client: httpx.AsyncClient, url: str, policy: FetchPolicy) -> Fetched:
    """The body at `url` after at most `policy.max_redirects` checked redirects."""
    what = "fetch"
    for _ in range(policy.max_redirects + 1):
        await check_address(url, policy)
        try:
            async with client.stream("GET", url, follow_redirects=False) as response:
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


async def _read_bounded(response: httpx.Response, limit: int, url: str) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise refused(f"{url} is {declared} bytes, over the {limit}-byte limit", "too_large")
    chunks: list[bytes] = []
    size = 0
    # The header can lie or be absent (chunked): count what actually arrives.
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise refused(f"{url} is over the {limit}-byte limit", "too_large")
        chunks.append(chunk)
    return b"".join(chunks)
