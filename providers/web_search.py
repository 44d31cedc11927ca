"""Web search providers: Tavily, Brave, SearXNG and DuckDuckGo, over one httpx client each.

Each implements `providers.search.SearchProvider` and raises Temporal `ApplicationError`s
classified by `providers.http_errors`, so a run can tolerate one failing provider and the
search activities can tell a bad key (fail now) from a rate limit (wait as asked).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
from temporalio.exceptions import ApplicationError

from domain.source_policy import DateWindow
from domain.sources import SearchHit
from providers.ddg_html import parse_results
from providers.http_errors import malformed, status_error, transport_error
from providers.ranking import normalise_url
from providers.time_range import brave_freshness, searxng_time_range, today

DEFAULT_TIMEOUT_S = 15.0
USER_AGENT = "durable-research/0.1 (+https://github.com/)"


class WebSearchProvider:
    """What every web provider shares: the client, the error mapping, hits from raw results."""

    name = "web"

    def __init__(
        self, *, timeout_s: float = DEFAULT_TIMEOUT_S, client: httpx.AsyncClient | None = None
    ) -> None:
        # Tests hand in a client on httpx.MockTransport; production gets a real one.
        self.client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s), headers={"user-agent": USER_AGENT}
        )

    def window_params(self, window: DateWindow, on: date) -> dict[str, str] | None:
        """The query parameters that narrow a search to `window`; None where this provider
        cannot (providers/time_range.py says how each one maps it)."""
        return None

    def _window(self, window: DateWindow | None) -> dict[str, str]:
        return (self.window_params(window, today()) or {}) if window is not None else {}

    async def _send(self, request: httpx.Request) -> httpx.Response:
        what = f"{self.name} search"
        try:
            response = await self.client.send(request)
        except httpx.HTTPError as exc:
            raise transport_error(what, exc) from exc
        error = status_error(what, response)
        if error is not None:
            raise error
        return response

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError as exc:
            raise malformed(f"{self.name} search", f"not JSON ({exc})") from exc
        if not isinstance(body, dict):
            raise malformed(f"{self.name} search", "not a JSON object")
        return body

    def _hits(self, items: Any, limit: int, snippet_key: str) -> list[SearchHit]:
        if not isinstance(items, list):
            raise malformed(f"{self.name} search", "no result list")
        hits: list[SearchHit] = []
        for item in items:
            url = item.get("url") if isinstance(item, dict) else None
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                continue  # a result without a web address cannot be read or cited
            hits.append(
                SearchHit(
                    source_id=normalise_url(url),
                    title=str(item.get("title") or url)[:300],
                    url=url,
                    snippet=" ".join(str(item.get(snippet_key) or "").split())[:500],
                    # Providers' own scores are on unrelated scales (or absent); the rank each
                    # gives is the one thing they share.
                    score=1.0 / (1 + len(hits)),
                    provider=self.name,
                )
            )
            if len(hits) == limit:
                break
        return hits

    async def aclose(self) -> None:
        await self.client.aclose()


class TavilyProvider(WebSearchProvider):
    name = "tavily"
    endpoint = "https://api.tavily.com/search"

    def __init__(self, api_key: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.api_key = api_key

    async def search(
        self, query: str, limit: int, window: DateWindow | None = None
    ) -> list[SearchHit]:
        request = self.client.build_request(
            "POST",
            self.endpoint,
            json={"query": query, "max_results": limit, "search_depth": "basic"},
            headers={"authorization": f"Bearer {self.api_key}"},
        )
        body = self._json(await self._send(request))
        return self._hits(body.get("results"), limit, "content")


class BraveProvider(WebSearchProvider):
    name = "brave"
    endpoint = "https://api.search.brave.com/res/v1/web/search"

    def __init__(self, api_key: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.api_key = api_key

    def window_params(self, window: DateWindow, on: date) -> dict[str, str] | None:
        freshness = brave_freshness(window, on)
        return None if freshness is None else {"freshness": freshness}

    async def search(
        self, query: str, limit: int, window: DateWindow | None = None
    ) -> list[SearchHit]:
        request = self.client.build_request(
            "GET",
            self.endpoint,
            params={"q": query, "count": min(limit, 20), **self._window(window)},
            headers={"x-subscription-token": self.api_key, "accept": "application/json"},
        )
        body = self._json(await self._send(request))
        web = body.get("web")
        # Brave leaves out the "web" section when nothing matched.
        return self._hits(web.get("results") if isinstance(web, dict) else [], limit, "description")


class SearxngProvider(WebSearchProvider):
    name = "searxng"

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")

    def window_params(self, window: DateWindow, on: date) -> dict[str, str] | None:
        time_range = searxng_time_range(window, on)
        return None if time_range is None else {"time_range": time_range}

    async def search(
        self, query: str, limit: int, window: DateWindow | None = None
    ) -> list[SearchHit]:
        params = {"q": query, "format": "json", **self._window(window)}
        request = self.client.build_request("GET", f"{self.base_url}/search", params=params)
        try:
            response = await self._send(request)
        except ApplicationError as exc:
            if exc.type == "bad_credentials":
                # SearXNG answers 403 when `json` is missing from `search.formats` in settings.yml.
                raise ApplicationError(
                    f"{exc.message} (enable the json format in SearXNG's settings.yml)",
                    type="bad_request",
                    non_retryable=True,
                ) from exc
            raise
        return self._hits(self._json(response).get("results"), limit, "content")


class DuckDuckGoProvider(WebSearchProvider):
    """DuckDuckGo's HTML endpoint: no key, no contract either; parsing is kept in ddg_html."""

    name = "duckduckgo"
    endpoint = "https://html.duckduckgo.com/html/"

    async def search(
        self, query: str, limit: int, window: DateWindow | None = None
    ) -> list[SearchHit]:
        request = self.client.build_request("POST", self.endpoint, data={"q": query})
        response = await self._send(request)
        if response.status_code == 202:
            # DuckDuckGo answers 202 with a challenge page when it throttles a client.
            raise ApplicationError("duckduckgo search: throttled (HTTP 202)", type="rate_limited")
        return self._hits(parse_results(response.text), limit, "snippet")
