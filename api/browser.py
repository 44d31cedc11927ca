"""What a web page in the user's own browser may not make the API do while auth is off.

With no keys, being on this machine is the only credential, and a browser on this machine is a
confused deputy: any site it visits can send requests to 127.0.0.1, and a DNS-rebound name
(`evil.example` now resolving to 127.0.0.1) even makes the page same-origin with the API. Two
checks close that, both from headers every browser sends and no page can forge:

- `Host` must name loopback (`localhost`, a loopback IP, `[::1]`, any port): a rebound page's
  requests carry the attacker's name, so they are refused before any route runs.
- A request that changes state (anything but GET / HEAD / OPTIONS) or opens a WebSocket must not
  come from another origin: an `Origin` other than the request's own scheme://host:port, or
  `Sec-Fetch-Site: cross-site` / `same-site`, is refused. A request without either header (curl,
  the CLI, scripts) is not from a page, and passes.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import Scope

from api.errors import ApiError

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Site-relative fetch metadata that a page on another origin produces; "same-origin" and "none"
# (typed into the address bar) are the page itself or the person.
FOREIGN_FETCH_SITES = frozenset({"cross-site", "same-site"})
_HOST = re.compile(r"^(?P<name>\[[0-9A-Fa-f:.]+\]|[^:\[\]/@]+)(?::(?P<port>[0-9]{1,5}))?$")
_DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}


def _split_host(value: str, scheme: str) -> tuple[str, int] | None:
    match = _HOST.fullmatch(value.strip())
    if match is None:
        return None
    port = match["port"]
    return match["name"].lower(), int(port) if port else _DEFAULT_PORTS.get(scheme, 80)


def is_loopback_name(name: str) -> bool:
    """`localhost` or a loopback IP literal (IPv6 in brackets, as a Host header spells it)."""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name.removeprefix("[").removesuffix("]")).is_loopback
    except ValueError:
        return False


def check_loopback_host(scope: Scope) -> None:
    """403 `host_not_allowed` unless the Host header names this machine's loopback."""
    host = Headers(scope=scope).get("host")
    if host is None:
        return  # HTTP/1.0 without Host: no browser sends that
    split = _split_host(host, scope.get("scheme", "http"))
    if split is None or not is_loopback_name(split[0]):
        raise ApiError(
            403,
            "host_not_allowed",
            "authentication is off, so this API answers only to loopback host names "
            "(localhost, 127.0.0.1, [::1]); set RESEARCH_API_KEYS to serve other names",
            {"host": host[:200]},
        )


def _same_origin(origin: str, scope: Scope) -> bool:
    host = Headers(scope=scope).get("host")
    if host is None or origin == "null":
        return False
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    scheme = "https" if scope.get("scheme") in ("https", "wss") else "http"
    if parts.scheme != scheme or parts.path or parts.query or not parts.netloc:
        return False
    return _split_host(parts.netloc, parts.scheme) == _split_host(host, scheme)


def check_same_origin(scope: Scope, allowed_origins: frozenset[str] = frozenset()) -> None:
    """403 `cross_site_request` for a state-changing request or WebSocket from another origin.

    `allowed_origins` are foreign origins trusted for this path (the Web UI calling /codec).
    """
    if scope["type"] == "http" and scope["method"] in SAFE_METHODS:
        return
    headers = Headers(scope=scope)
    origin = headers.get("origin")
    if origin is not None and origin in allowed_origins:
        return
    foreign = headers.get("sec-fetch-site", "").lower() in FOREIGN_FETCH_SITES
    if foreign or (origin is not None and not _same_origin(origin, scope)):
        raise ApiError(
            403,
            "cross_site_request",
            "authentication is off, so this API refuses requests that change state from "
            "another site's page; send no Origin (curl, the CLI) or call from the API's own page",
            {"origin": (origin or "")[:200]},
        )


def check_browser(scope: Scope, *, loopback_host: bool, codec_origins: frozenset[str]) -> None:
    """Both checks, for a request to an API whose auth is off (`loopback_host`: the Host check
    too, unless a proxy in front authenticates and the Host is its public name)."""
    if loopback_host:
        check_loopback_host(scope)
    codec = scope["path"].startswith("/codec/")
    check_same_origin(scope, codec_origins if codec else frozenset())
