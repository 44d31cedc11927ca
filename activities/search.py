"""The search activity: one query fanned out to every configured provider."""

from __future__ import annotations

from temporalio import activity

from activities.models import SearchRequest, SearchResult
from providers.search import SearchProvider, search_all


class SearchActivities:
    def __init__(self, providers: list[SearchProvider]) -> None:
        if not providers:
            raise ValueError("SearchActivities needs at least one search provider")
        self.providers = list(providers)

    @activity.defn(name="search.search")
    async def search(self, req: SearchRequest) -> SearchResult:
        """Hits from all providers, merged; fails (and is retried) only if every provider fails."""
        hits = await search_all(self.providers, req.query, req.limit)
        activity.logger.info("search %r: %d hits", req.query, len(hits))
        return SearchResult(hits=hits)
