"""The search providers and the web reader a worker gets, built from settings.

Kept out of worker.py so `research doctor` builds exactly what a worker would, and reports a
provider named without its key instead of a worker failing at start.
"""

from __future__ import annotations

from providers.fetch import FetchPolicy
from providers.local_index import LocalIndex
from providers.search import LocalDocsProvider, SearchProvider
from providers.web_search import (
    BraveProvider,
    DuckDuckGoProvider,
    SearxngProvider,
    TavilyProvider,
    WebSearchProvider,
)
from settings import Settings

NEEDED = {
    "tavily": "RESEARCH_TAVILY_API_KEY",
    "brave": "RESEARCH_BRAVE_API_KEY",
    "searxng": "RESEARCH_SEARXNG_URL",
}


class ProviderConfigError(ValueError):
    """A provider is named in RESEARCH_SEARCH_PROVIDERS without the setting it needs."""


def missing_settings(settings: Settings) -> dict[str, str]:
    """Provider name -> the variable it lacks, for every configured provider that lacks one."""
    have = {
        "tavily": settings.tavily_api_key and settings.tavily_api_key.get_secret_value(),
        "brave": settings.brave_api_key and settings.brave_api_key.get_secret_value(),
        "searxng": settings.searxng_url,
    }
    return {n: NEEDED[n] for n in settings.search_providers if n in NEEDED and not have[n]}


def web_provider(name: str, settings: Settings) -> WebSearchProvider:
    timeout = {"timeout_s": settings.search_timeout_s}
    if name == "tavily" and settings.tavily_api_key:
        return TavilyProvider(settings.tavily_api_key.get_secret_value(), **timeout)
    if name == "brave" and settings.brave_api_key:
        return BraveProvider(settings.brave_api_key.get_secret_value(), **timeout)
    if name == "searxng" and settings.searxng_url:
        return SearxngProvider(settings.searxng_url, **timeout)
    if name == "duckduckgo":
        return DuckDuckGoProvider(**timeout)
    raise ProviderConfigError(f"search provider {name!r} needs {NEEDED.get(name, 'settings')}")


def build_search_providers(settings: Settings, index: LocalIndex) -> list[SearchProvider]:
    missing = missing_settings(settings)
    if missing:
        raise ProviderConfigError(
            "search providers named without their settings: "
            + ", ".join(f"{name} needs {var}" for name, var in missing.items())
        )
    if not settings.search_providers:
        raise ProviderConfigError("RESEARCH_SEARCH_PROVIDERS names no provider")
    return [
        LocalDocsProvider(index, settings.docs_dirs)
        if name == "local"
        else web_provider(name, settings)
        for name in settings.search_providers
    ]


def fetch_policy(settings: Settings) -> FetchPolicy:
    return FetchPolicy(
        timeout_s=settings.fetch_timeout_s,
        max_bytes=settings.fetch_max_bytes,
        max_redirects=settings.fetch_max_redirects,
        allow_private=settings.allow_private_fetch,
    )
