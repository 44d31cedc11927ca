"""The search activities: which providers a run asks, one provider's hits, and the old fan-out.

Runs ask each provider through `search.provider` on that provider's own task queue, where its
rate limits hold across every worker (worker.py). `search.search`, which asks every provider in
one activity, stays registered for runs started before that change.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.table import SEARCH_ALL, SEARCH_PROVIDER, SEARCH_PROVIDERS
from domain.calls import (
    ProviderSearchRequest,
    ProvidersRequest,
    ProvidersResult,
    SearchRequest,
    SearchResult,
)
from domain.source_policy import DateWindow
from providers.search import (
    LocalDocsProvider,
    SearchError,
    SearchProvider,
    UnknownFolderError,
    search_all,
)
from providers.time_range import today
from providers.web_search import WebSearchProvider

logger = logging.getLogger(__name__)


class SearchActivities:
    def __init__(self, providers: list[SearchProvider]) -> None:
        if not providers:
            raise ValueError("SearchActivities needs at least one search provider")
        self.providers = list(providers)
        self.by_name = {p.name: p for p in self.providers}

    @property
    def web_providers(self) -> list[str]:
        """Names of the providers that get their own task queue (all but the local index)."""
        return [p.name for p in self.providers if p.name != "local"]

    @activity.defn(name=SEARCH_PROVIDERS.name)
    async def providers_for(self, req: ProvidersRequest) -> ProvidersResult:
        """The configured providers a run's `sources` pick; none configured is a final error."""
        return ProvidersResult(providers=[p.name for p in self.chosen(req.sources)])

    @activity.defn(name=SEARCH_PROVIDER.name)
    async def provider(self, req: ProviderSearchRequest) -> SearchResult:
        """One provider's hits; its errors keep their classification (bad key, rate limit)."""
        provider = self.by_name.get(req.provider)
        if provider is None:
            # Only a worker with the provider configured polls its queue, so this is a run
            # asking for a provider that no worker has: retrying cannot help.
            raise ApplicationError(
                f"search provider {req.provider!r} is not configured on this worker",
                type="bad_request",
                non_retryable=True,
            )
        if not req.query.strip() or req.limit <= 0:
            return SearchResult(hits=[])
        if req.folder is not None and isinstance(provider, LocalDocsProvider):
            try:
                found = await provider.search(req.query, req.limit, req.folder)
            except UnknownFolderError as exc:
                # The API checks the name against the same settings; a worker configured
                # otherwise cannot serve this run on any retry.
                raise ApplicationError(str(exc), type="bad_request", non_retryable=True) from exc
        elif isinstance(provider, WebSearchProvider) and req.window is not None:
            found = await provider.search(req.query, req.limit, window=req.window)
        else:
            found = await provider.search(req.query, req.limit)
        hits = found[: req.limit]
        activity.logger.info("search %s %r: %d hits", req.provider, req.query, len(hits))
        return SearchResult(hits=hits, window_ignored=window_ignored(provider, req.window))

    @activity.defn(name=SEARCH_ALL.name)
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

    async def aclose(self) -> None:
        """Close the providers' HTTP clients; the worker calls this when it stops."""
        for provider in self.providers:
            close = getattr(provider, "aclose", None)
            if close is None:
                continue
            try:
                await close()
            except Exception:  # one client failing to close must not keep the others open
                logger.warning("closing search provider %s failed", provider.name, exc_info=True)


def window_ignored(provider: SearchProvider, window: DateWindow | None) -> bool:
    """Whether `provider` searched without the run's date window (it has no way to apply it;
    local documents carry no publication date)."""
    if window is None:
        return False
    if not isinstance(provider, WebSearchProvider):
        return True
    return provider.window_params(window, today()) is None


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
