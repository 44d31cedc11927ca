"""Fan-out search: merging, URL de-duplication, and tolerance of a failing provider."""

from __future__ import annotations

from pathlib import Path

import pytest

from activities.models import SearchHit
from providers.local_index import LocalIndex
from providers.search import LocalDocsProvider, SearchError, normalise_url, search_all


class FakeProvider:
    def __init__(self, name: str, hits: list[SearchHit] | None = None, error: str = "") -> None:
        self.name = name
        self.hits = hits or []
        self.error = error
        self.calls: list[tuple[str, int]] = []

    async def search(self, query: str, limit: int) -> list[SearchHit]:
        self.calls.append((query, limit))
        if self.error:
            raise ConnectionError(self.error)
        return self.hits[:limit]


def hit(url: str, score: float, provider: str) -> SearchHit:
    return SearchHit(source_id=url, title=url, url=url, score=score, provider=provider)


def test_normalise_url() -> None:
    same = [
        "https://www.Example.com/a/b/?utm_source=x&q=1#section",
        "https://example.com:443/a/b?q=1",
        "HTTPS://EXAMPLE.COM/a/b?q=1&fbclid=abc",
    ]
    assert {normalise_url(url) for url in same} == {"https://example.com/a/b?q=1"}
    assert normalise_url("http://example.com:8080/") == "http://example.com:8080"
    assert normalise_url("https://example.com/A") != normalise_url("https://example.com/a")
    assert normalise_url("file:///docs/a.md") == "file:///docs/a.md"


async def test_merges_dedupes_and_orders_by_score() -> None:
    web = FakeProvider(
        "web",
        [hit("https://www.example.com/page/", 0.9, "web"), hit("https://b.org/x", 0.4, "web")],
    )
    other = FakeProvider(
        "other",
        [
            hit("https://example.com/page?utm_medium=feed", 0.5, "other"),
            hit("https://c.net", 0.7, "other"),
        ],
    )
    hits = await search_all([web, other], "storage", 10)
    assert [(h.url, h.provider) for h in hits] == [
        ("https://www.example.com/page/", "web"),
        ("https://c.net", "other"),
        ("https://b.org/x", "web"),
    ]
    assert web.calls == [("storage", 10)] and other.calls == [("storage", 10)]
    assert len(await search_all([web, other], "storage", 2)) == 2


async def test_one_failing_provider_is_tolerated() -> None:
    good = FakeProvider("good", [hit("https://a.org", 1.0, "good")])
    bad = FakeProvider("bad", error="connection refused")
    hits = await search_all([bad, good], "q", 5)
    assert [h.url for h in hits] == ["https://a.org"]


async def test_all_failing_providers_raise_with_every_cause() -> None:
    providers = [FakeProvider("a", error="timeout"), FakeProvider("b", error="401")]
    with pytest.raises(SearchError, match=r"a: ConnectionError: timeout; b: ConnectionError: 401"):
        await search_all(providers, "q", 5)


async def test_empty_query_and_no_providers() -> None:
    provider = FakeProvider("p", [hit("https://a.org", 1.0, "p")])
    assert await search_all([provider], "   ", 5) == []
    assert provider.calls == []
    with pytest.raises(ValueError, match="no search providers"):
        await search_all([], "q", 5)


async def test_local_docs_provider(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# Flywheels\n\nA flywheel stores kinetic energy.\n")
    index = LocalIndex(tmp_path / "index.sqlite")
    index.sync([docs])
    provider = LocalDocsProvider(index)
    hits = await search_all([provider, FakeProvider("web", error="offline")], "flywheel", 5)
    assert provider.name == "local"
    assert [(h.title, h.provider) for h in hits] == [("Flywheels", "local")]
