"""Search providers behind one small protocol, and a fan-out that merges their hits.

The local index is always there; web providers (Tavily, Brave, SearXNG, DuckDuckGo) plug in by
implementing `SearchProvider`. Scores from different providers are not on one scale, so hits are
merged by rank (`providers.ranking.fuse`), not by score.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Protocol

from domain.sources import SearchHit
from providers.local_index import LocalIndex
from providers.ranking import fuse, normalise_url

__all__ = ["normalise_url"]  # re-exported: its home moved to providers.ranking

logger = logging.getLogger(__name__)


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

    def __init__(self, index: LocalIndex, folders: list[Path] | None = None) -> None:
        self.index = index
        # The configured documents folders by name (RESEARCH_DOCS_DIRS), for runs that search
        # only one of them (RunOptions.docs_folder, the seed-002 `markdown_path`).
        self.folders = {Path(f).name: Path(f) for f in folders or []}

    async def search(self, query: str, limit: int, folder: str | None = None) -> list[SearchHit]:
        """Hits from the whole index, or only from the configured folder named `folder`."""
        under = None
        if folder is not None:
            under = self.folders.get(folder)
            if under is None:
                known = ", ".join(sorted(self.folders)) or "none"
                raise UnknownFolderError(f"no documents folder {folder!r} (folders: {known})")
        # SQLite blocks; on the event loop it would stall every other activity in the worker.
        return await asyncio.to_thread(self.index.search, query, limit, under)


class UnknownFolderError(LookupError):
    """A run named a documents folder this worker does not have."""


async def search_all(providers: list[SearchProvider], query: str, limit: int) -> list[SearchHit]:
    """Ask every provider at once; merge by rank and de-duplicate by normalised URL.

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
    answered: list[list[SearchHit]] = []
    errors: list[tuple[str, Exception]] = []
    for provider, result in zip(providers, results, strict=True):
        if isinstance(result, BaseException):
            if not isinstance(result, Exception):
                raise result  # cancellation and interpreter exits are not provider failures
            logger.warning("search provider %s failed: %r", provider.name, result)
            errors.append((provider.name, result))
            continue
        answered.append(result)
    if len(errors) == len(providers):
        raise SearchError(errors)
    return fuse(answered, limit)
