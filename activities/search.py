"""The search activity: one query fanned out to every configured provider."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.models import SearchRequest, SearchResult
from providers.search import SearchError, SearchProvider, search_all


class SearchActivities:
    def __init__(self, providers: list[SearchProvider]) -> None:
        if not providers:
            raise ValueError("SearchActivities needs at least one search provider")
        self.providers = list(providers)

    @activity.defn(name="search.search")
    async def search(self, req: SearchRequest) -> SearchResult:
        """Hits from all providers, merged; fails (and is retried) only if every provider fails."""
        providers = self.chosen(req.sources)
        try:
            hits = await search_all(providers, req.query, req.limit)
        except SearchError as exc:
            raise classify_all_failed(exc) from exc
        activity.logger.info("search %r: %d hits", req.query, len(hits))
        return SearchResult(hits=hits)

    def chosen(self, sources: list[str] | None) -> list[SearchProvider]:
        """The configured providers a run asked for; none of them configured is a final error."""
        if sources is None:
            return self.providers
        wanted = {s.strip().lower() for s in sources}
        picked = [
            p for p in self.providers if p.name in wanted or ("web" in wanted and p.name != "local")
        ]
        if not picked:
            configured = ", ".join(p.name for p in self.providers)
            raise ApplicationError(
                f"none of the sources {sorted(wanted)} is configured (configured: {configured})",
                type="bad_request",
                non_retryable=True,
            )
        return picked


def classify_all_failed(exc: SearchError) -> ApplicationError:
    """One error for "every provider failed" that keeps what retrying can and cannot fix.

    Retrying helps if any provider might recover; only when every failure is final (bad keys,
    refused requests) does the search fail for good. The longest Retry-After among rate-limited
    providers sets the wait, so no provider is asked again before it allows.
    """
    causes = [e for _, e in exc.errors]
    final = [e for e in causes if isinstance(e, ApplicationError) and e.non_retryable]
    if len(final) == len(causes):
        types = {e.type for e in final}
        kind = types.pop() if len(types) == 1 else "search_failed"
        return ApplicationError(str(exc), type=kind, non_retryable=True)
    delays = [
        e.next_retry_delay
        for e in causes
        if isinstance(e, ApplicationError) and e.next_retry_delay is not None
    ]
    delay: timedelta | None = max(delays) if delays else None
    return ApplicationError(str(exc), type="search_unavailable", next_retry_delay=delay)
