"""Search providers behind one small protocol, and a fan-out that merges their hits.

The local index is always there; web providers (Tavily, Brave, SearXNG) plug in by implementing
`SearchProvider`. Scores from different providers are not on one scale, so a merged list is only
as comparable as the providers make their scores.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from activities.models import SearchHit
from providers.local_index import LocalIndex

logger = logging.getLogger(__name__)

# Query parameters that only track the visitor; two URLs differing in them are one page.
_TRACKING_PREFIXES = ("utm_", "fbclid", "gclid", "mc_cid", "mc_eid")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class SearchProvider(Protocol):
    name: str

    async def search(self, query: str, limit: int) -> list[SearchHit]: ...


class SearchError(Exception):
    """Every provider failed; the causes are in the message and in `errors`."""

    def __init__(self, errors: list[tuple[str, Exception]]) -> None:
        self.errors = errors
        detail = "; ".join(f"{name}: {type(e).__name__}: {e}" for name, e in errors)
        super().__init__(f"all search providers failed ({detail})")


class LocalDocsProvider:
    """The embedded SQLite FTS5 index as a search provider."""

    name = "local"

    def __init__(self, index: LocalIndex) -> None:
        self.index = index

    async def search(self, query: str, limit: int) -> list[SearchHit]:
        # SQLite blocks; on the event loop it would stall every other activity in the worker.
        return await asyncio.to_thread(self.index.search, query, limit)


def normalise_url(url: str) -> str:
    """A comparison key for URLs that name the same page in different spellings."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if host.startswith("www."):
        host = host[4:]
    netloc = host
    if parts.port and parts.port != _DEFAULT_PORTS.get(scheme):
        netloc = f"{host}:{parts.port}"
    path = parts.path.rstrip("/") or ("" if netloc else parts.path)
    query = urlencode(
        sorted(
            (key, value)
            for key, value in parse_qsl(parts.query, keep_blank_values=True)
            if not key.lower().startswith(_TRACKING_PREFIXES)
        )
    )
    return urlunsplit((scheme, netloc, path, query, ""))


async def search_all(providers: list[SearchProvider], query: str, limit: int) -> list[SearchHit]:
    """Ask every provider at once; merge, de-duplicate by URL, best score first.

    One provider failing is logged and tolerated as long as another answered; if all fail,
    `SearchError` carries every cause so the activity's retry has something to show.
    """
    if not providers:
        raise ValueError("no search providers configured")
    if not query.strip() or limit <= 0:
        return []
    results = await asyncio.gather(
        *(provider.search(query, limit) for provider in providers), return_exceptions=True
    )
    best: dict[str, SearchHit] = {}
    errors: list[tuple[str, Exception]] = []
    for provider, result in zip(providers, results, strict=True):
        if isinstance(result, BaseException):
            if not isinstance(result, Exception):
                raise result  # cancellation and interpreter exits are not provider failures
            logger.warning("search provider %s failed: %r", provider.name, result)
            errors.append((provider.name, result))
            continue
        for hit in result:
            key = normalise_url(hit.url) if hit.url else hit.source_id
            kept = best.get(key)
            if kept is None or hit.score > kept.score:
                best[key] = hit
    if len(errors) == len(providers):
        raise SearchError(errors)
    # sorted() is stable: equal scores keep provider order, then each provider's own order.
    return sorted(best.values(), key=lambda hit: hit.score, reverse=True)[:limit]
