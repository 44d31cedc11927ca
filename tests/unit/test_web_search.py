"""Web search providers against hand-built HTTP responses at the transport (httpx.MockTransport).

Bodies follow the providers' documented response shapes; every provider gets the same error
classification: 401 final, 429 waits for Retry-After, 500 and timeouts retry, bad JSON retries.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from temporalio.exceptions import ApplicationError

from activities.search import SearchActivities, classify_all_failed
from domain.calls import ProviderSearchRequest, ProvidersRequest
from providers.ddg_html import parse_results
from providers.search import SearchError, search_all
from providers.web_search import (
    BraveProvider,
    DuckDuckGoProvider,
    SearxngProvider,
    TavilyProvider,
    WebSearchProvider,
)
from settings import Settings

TAVILY = {
    "query": "grid storage",
    "answer": None,
    "results": [
        {"title": "Grid-scale storage - IEA",
         "url": "https://www.iea.org/energy-system/electricity/grid-scale-storage",
         "content": "Grid-scale storage, in particular batteries, will be essential ...",
         "score": 0.91},
        {"title": "Pumped hydro",
         "url": "https://en.wikipedia.org/wiki/Pumped-storage_hydroelectricity",
         "content": "Pumped-storage hydroelectricity is a type of  hydroelectric storage.",
         "score": 0.83},
    ],
    "response_time": 1.02,
}  # fmt: skip
BRAVE = {
    "type": "search",
    "web": {"type": "search", "results": [
        {"title": "Energy storage - Wikipedia",
         "url": "https://en.wikipedia.org/wiki/Energy_storage",
         "description": "Energy <strong>storage</strong> is the capture of energy ...",
         "age": "2 days ago"},
        {"title": "No URL", "description": "dropped"},
    ]},
}  # fmt: skip
SEARXNG = {
    "query": "grid storage",
    "number_of_results": 0,
    "results": [
        {"url": "https://www.energy.gov/storage", "title": "Energy Storage | DOE",
         "content": "DOE supports storage research.", "engine": "bing", "score": 4.0},
        {"url": "magnet:?xt=urn:btih:abc", "title": "a torrent", "content": "", "engine": "x"},
    ],
}  # fmt: skip
DDG_HTML = """<html><body><div class="results">
<div class="result results_links results_links_deep result--ad">
 <a class="result__a"
  href="https://duckduckgo.com/y.js?ad_domain=ads.example&amp;u3=x">Buy batteries</a>
</div>
<div class="result results_links results_links_deep web-result">
 <h2 class="result__title"><a rel="nofollow" class="result__a"
  href="//duckduckgo.com/l/?uddg=https%3A%2F%2Fen.wikipedia.org%2Fwiki%2FFlywheel_energy_storage&amp;rut=ab">
  <b>Flywheel</b> energy storage - Wikipedia</a></h2>
 <a class="result__snippet" href="//duckduckgo.com/l/?uddg=x"><b>Flywheel</b> energy
  storage works by accelerating a rotor.</a>
</div>
<div class="result results_links web-result">
 <h2 class="result__title">
  <a class="result__a" href="https://www.nrel.gov/storage/">Storage | NREL</a></h2>
 <a class="result__snippet">NREL storage research &amp; analysis.</a>
</div></div></body></html>"""  # fmt: skip

Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


def provider(name: str, handler: Handler) -> WebSearchProvider:
    c = client(handler)
    return {
        "tavily": lambda: TavilyProvider("tvly-test", client=c),
        "brave": lambda: BraveProvider("brave-test", client=c),
        "searxng": lambda: SearxngProvider("http://searx.internal:8080/", client=c),
        "duckduckgo": lambda: DuckDuckGoProvider(client=c),
    }[name]()


async def test_tavily_parses_and_sends_the_key() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=TAVILY)

    hits = await provider("tavily", handler).search("grid storage", 5)
    assert seen[0].headers["authorization"] == "Bearer tvly-test"
    assert json.loads(seen[0].content)["max_results"] == 5
    assert [h.url for h in hits] == [r["url"] for r in TAVILY["results"]]
    assert hits[0].source_id == "https://iea.org/energy-system/electricity/grid-scale-storage"
    assert hits[1].snippet == "Pumped-storage hydroelectricity is a type of hydroelectric storage."
    assert {h.provider for h in hits} == {"tavily"} and hits[0].score > hits[1].score


async def test_brave_parses_and_skips_results_without_url() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["x-subscription-token"] == "brave-test"
        assert request.url.params["q"] == "grid storage" and request.url.params["count"] == "3"
        return httpx.Response(200, json=BRAVE)

    hits = await provider("brave", handler).search("grid storage", 3)
    assert [(h.title, h.provider) for h in hits] == [("Energy storage - Wikipedia", "brave")]
    # Nothing matched: Brave leaves the web section out.
    empty = await provider("brave", lambda r: httpx.Response(200, json={"type": "search"})).search(
        "zzzz", 3
    )
    assert empty == []


async def test_searxng_parses_json_and_keeps_only_web_urls() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert str(request.url).startswith("http://searx.internal:8080/search?")
        assert request.url.params["format"] == "json"
        return httpx.Response(200, json=SEARXNG)

    hits = await provider("searxng", handler).search("grid storage", 5)
    assert [h.url for h in hits] == ["https://www.energy.gov/storage"]
    assert hits[0].snippet == "DOE supports storage research."


async def test_searxng_without_json_format_says_how_to_fix_it() -> None:
    p = provider("searxng", lambda r: httpx.Response(403, text="Forbidden"))
    with pytest.raises(ApplicationError) as caught:
        await p.search("q", 3)
    assert caught.value.non_retryable and "settings.yml" in caught.value.message


def test_duckduckgo_html_unwraps_links_and_drops_ads() -> None:
    results = parse_results(DDG_HTML)
    assert results == [
        {
            "url": "https://en.wikipedia.org/wiki/Flywheel_energy_storage",
            "title": "Flywheel energy storage - Wikipedia",
            "snippet": "Flywheel energy storage works by accelerating a rotor.",
        },
        {"url": "https://www.nrel.gov/storage/", "title": "Storage | NREL",
         "snippet": "NREL storage research & analysis."},
    ]  # fmt: skip


async def test_duckduckgo_posts_the_query_and_throttling_is_retryable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.method == "POST" and request.content == b"q=flywheel+storage"
        return httpx.Response(200, text=DDG_HTML)

    hits = await provider("duckduckgo", handler).search("flywheel storage", 1)
    assert [h.title for h in hits] == ["Flywheel energy storage - Wikipedia"]
    with pytest.raises(ApplicationError) as caught:
        await provider("duckduckgo", lambda r: httpx.Response(202, text="<html>")).search("q", 1)
    assert caught.value.type == "rate_limited" and not caught.value.non_retryable


NAMES = ["tavily", "brave", "searxng", "duckduckgo"]


@pytest.mark.parametrize("name", ["tavily", "brave"])
async def test_bad_key_is_final(name: str) -> None:
    body = {"detail": {"error": "Unauthorized: missing or invalid API key."}}
    with pytest.raises(ApplicationError) as caught:
        await provider(name, lambda r: httpx.Response(401, json=body)).search("q", 3)
    assert caught.value.type == "bad_credentials" and caught.value.non_retryable


@pytest.mark.parametrize("name", NAMES)
async def test_429_retries_after_the_providers_delay(name: str) -> None:
    p = provider(name, lambda r: httpx.Response(429, headers={"retry-after": "12"}))
    with pytest.raises(ApplicationError) as caught:
        await p.search("q", 3)
    assert caught.value.type == "rate_limited" and not caught.value.non_retryable
    assert caught.value.next_retry_delay == timedelta(seconds=12)


@pytest.mark.parametrize("name", NAMES)
async def test_server_error_and_timeout_retry(name: str) -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("read timed out", request=request)

    for handler in (lambda r: httpx.Response(502, text="Bad Gateway"), timeout):
        with pytest.raises(ApplicationError) as caught:
            await provider(name, handler).search("q", 3)
        assert caught.value.type == "provider_unavailable" and not caught.value.non_retryable


@pytest.mark.parametrize("name", ["tavily", "brave", "searxng"])
async def test_malformed_body_is_retryable(name: str) -> None:
    for response in (httpx.Response(200, text="<html>proxy</html>"), httpx.Response(200, json=[])):
        with pytest.raises(ApplicationError) as caught:
            await provider(name, lambda r, resp=response: resp).search("q", 3)
        assert caught.value.type == "malformed_response" and not caught.value.non_retryable


async def test_one_provider_down_others_carry_on_and_urls_are_deduplicated() -> None:
    down = provider("brave", lambda r: httpx.Response(503))
    tavily = provider("tavily", lambda r: httpx.Response(200, json=TAVILY))
    same_page = dict(SEARXNG)
    # The IEA page again, spelled with a tracking parameter and a trailing slash.
    same_page["results"] = [
        {"url": "https://iea.org/energy-system/electricity/grid-scale-storage/?utm_source=x",
         "title": "IEA again", "content": ""},
        *SEARXNG["results"],
    ]  # fmt: skip
    searx = provider("searxng", lambda r: httpx.Response(200, json=same_page))
    hits = await search_all([down, tavily, searx], "grid storage", 10)
    urls = [h.source_id for h in hits]
    assert len(urls) == len(set(urls)) == 3
    assert "https://energy.gov/storage" in urls


async def test_all_failing_is_final_only_when_every_cause_is() -> None:
    bad_key = provider("tavily", lambda r: httpx.Response(401))
    limited = provider("brave", lambda r: httpx.Response(429, headers={"retry-after": "30"}))
    busy = provider("searxng", lambda r: httpx.Response(500))
    with pytest.raises(SearchError) as caught:
        await search_all([bad_key, limited, busy], "q", 3)
    error = classify_all_failed(caught.value)
    assert not error.non_retryable and error.next_retry_delay == timedelta(seconds=30)
    with pytest.raises(SearchError) as caught:
        await search_all([bad_key, provider("brave", lambda r: httpx.Response(401))], "q", 3)
    error = classify_all_failed(caught.value)
    assert error.non_retryable and error.type == "bad_credentials"


async def test_a_run_can_pick_its_sources() -> None:
    tavily = provider("tavily", lambda r: httpx.Response(200, json=TAVILY))
    searx = provider("searxng", lambda r: httpx.Response(200, json=SEARXNG))
    activities = SearchActivities([tavily, searx])
    assert activities.chosen(None) == [tavily, searx]
    assert activities.chosen(["web"]) == [tavily, searx]
    assert activities.chosen(["SearXNG"]) == [searx]
    with pytest.raises(ApplicationError) as caught:
        activities.chosen(["local"])
    assert caught.value.non_retryable and "configured: tavily, searxng" in caught.value.message


async def test_per_provider_activity_keeps_the_providers_error_classification() -> None:
    tavily = provider("tavily", lambda r: httpx.Response(200, json=TAVILY))
    limited = provider("brave", lambda r: httpx.Response(429, headers={"retry-after": "7"}))
    activities = SearchActivities([tavily, limited])
    assert activities.web_providers == ["tavily", "brave"]
    found = await activities.provider(ProviderSearchRequest(provider="tavily", query="q", limit=1))
    assert [h.provider for h in found.hits] == ["tavily"]
    # A rate limit reaches Temporal as a retry after the provider's delay, not as a failure.
    with pytest.raises(ApplicationError) as caught:
        await activities.provider(ProviderSearchRequest(provider="brave", query="q", limit=3))
    assert caught.value.type == "rate_limited" and not caught.value.non_retryable
    assert caught.value.next_retry_delay == timedelta(seconds=7)
    with pytest.raises(ApplicationError) as caught:
        await activities.provider(ProviderSearchRequest(provider="searxng", query="q", limit=3))
    assert caught.value.non_retryable and "not configured" in caught.value.message
    empty = await activities.provider(ProviderSearchRequest(provider="tavily", query=" ", limit=3))
    assert empty.hits == []


async def test_providers_activity_resolves_a_runs_sources() -> None:
    local = LocalDocsStub()
    searx = provider("searxng", lambda r: httpx.Response(200, json=SEARXNG))
    activities = SearchActivities([local, searx])  # type: ignore[list-item]
    assert activities.web_providers == ["searxng"]
    picked = await activities.providers_for(ProvidersRequest(sources=None))
    assert picked.providers == ["local", "searxng"]
    picked = await activities.providers_for(ProvidersRequest(sources=["web"]))
    assert picked.providers == ["searxng"]
    with pytest.raises(ApplicationError) as caught:
        await activities.providers_for(ProvidersRequest(sources=["brave"]))
    assert caught.value.non_retryable and caught.value.type == "bad_request"


async def test_aclose_closes_every_web_providers_client() -> None:
    web = [provider(name, lambda r: httpx.Response(200, json={})) for name in ("tavily", "brave")]
    activities = SearchActivities([LocalDocsStub(), *web])  # type: ignore[list-item]
    assert not any(p.client.is_closed for p in web)
    await activities.aclose()
    assert all(p.client.is_closed for p in web)


class LocalDocsStub:
    """Stands in for the local index: a provider named local with no client to close."""

    name = "local"

    async def search(self, query: str, limit: int) -> list:
        return []


def test_an_api_key_alone_turns_its_provider_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RESEARCH_SEARCH_PROVIDERS", raising=False)
    assert Settings(_env_file=None).search_providers == ["local"]
    keyed = Settings(_env_file=None, tavily_api_key="tvly-abc", searxng_url="http://sx")
    assert keyed.search_providers == ["local", "tavily"]  # a URL alone is not a choice
    both = Settings(_env_file=None, tavily_api_key="tvly-abc", brave_api_key="b")
    assert both.search_providers == ["local", "tavily", "brave"]
    listed = Settings(_env_file=None, tavily_api_key="tvly-abc", search_providers="local")
    assert listed.search_providers == ["local"]  # a list someone wrote always wins
