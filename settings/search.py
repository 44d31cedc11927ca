"""The search settings: local documents, web search providers and their limits, page reading.

A group of `Settings` fields (settings/__init__.py), kept apart so each group reads on its own;
it is not meant to be built alone (it would read the environment without the RESEARCH_ prefix).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, NoDecode

from settings.values import (
    EXAMPLE_CORPUS,
    SearchLimit,
    SearchProviderName,
    WebSearchProviderName,
)


class SearchSettings(BaseSettings):
    # Local documents searched by the embedded search provider.
    docs_dirs: Annotated[list[Path], NoDecode] = Field(default_factory=lambda: [EXAMPLE_CORPUS])

    # Search providers, in the order their hits win ties: local, tavily, brave, searxng, duckduckgo.
    search_providers: Annotated[list[SearchProviderName], NoDecode] = Field(
        default_factory=lambda: ["local"]
    )
    tavily_api_key: SecretStr | None = None
    brave_api_key: SecretStr | None = None
    searxng_url: str | None = None
    search_timeout_s: float = Field(default=15.0, gt=0)
    # Each web provider's limits, kept through its own task queue `<task queue>-search-<name>`:
    # per_minute by the Temporal server across all workers, concurrent per worker. JSON, e.g.
    # RESEARCH_SEARCH_LIMITS='{"brave": {"per_minute": 60, "concurrent": 2}}'; a provider not
    # listed has no per-minute limit and search_max_concurrent calls per worker.
    search_limits: dict[WebSearchProviderName, SearchLimit] = Field(default_factory=dict)
    search_max_concurrent: int = Field(default=4, ge=1)
    # Reading web pages: one page's whole fetch, its size, redirects, and whether loopback,
    # link-local and private addresses may be fetched (off: a question must not probe our network).
    fetch_timeout_s: float = Field(default=20.0, gt=0)
    fetch_max_bytes: int = Field(default=5_000_000, gt=0)
    fetch_max_redirects: int = Field(default=5, ge=0)
    allow_private_fetch: bool = False
    # Turning pages and indexed files into text, in this many child processes; a document still
    # parsing after extract_timeout_s is killed (the read's 45 s also hold fetch_timeout_s).
    extract_timeout_s: float = Field(default=15.0, gt=0)
    extract_workers: int = Field(default=2, ge=1)

    @model_validator(mode="after")
    def _keyed_providers_by_default(self) -> Self:
        # Unset RESEARCH_SEARCH_PROVIDERS: local documents plus every web provider whose API key
        # is given, so a key alone turns its provider on. SearXNG (a URL, not a key) and
        # DuckDuckGo (nothing to give) are only used when listed.
        if "search_providers" not in self.model_fields_set:
            keyed = {"tavily": self.tavily_api_key, "brave": self.brave_api_key}
            self.search_providers = ["local", *(name for name, key in keyed.items() if key)]
        return self

    def search_limit(self, provider: str) -> tuple[float | None, int]:
        """(requests per minute or None, concurrent calls per worker) for one web provider."""
        limit = self.search_limits.get(provider) or SearchLimit()
        return limit.per_minute, limit.concurrent or self.search_max_concurrent
