"""Fan-out search: merging by rank, URL de-duplication, and tolerance of a failing provider."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.sources import SearchHit
from providers.local_index import LocalIndex
from providers.ranking import RRF_K, fuse
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


async def test_merges_by_rank_and_dedupes() -> None:
    web = FakeProvider(
        "web",
        [hit("https://b.org/x", 0.4, "web"), hit("https://www.example.com/page/", 0.9, "web")],
    )
    other = FakeProvider(
        "other",
        [
            hit("https://c.net", 0.7, "other"),
            hit("https://example.com/page?utm_medium=feed", 0.5, "other"),
        ],
    )
    hits = await search_all([web, other], "storage", 10)
    # The page both providers found (in two spellings) is one hit, and it comes first; it is
    # shown as "web" has it, whose rank for it (1st by score) is the better one.
    assert [(h.url, h.provider) for h in hits] == [
        ("https://www.example.com/page/", "web"),
        ("https://c.net", "other"),
        ("https://b.org/x", "web"),
    ]
    assert hits[0].score == pytest.approx(1 / (RRF_K + 1) + 1 / (RRF_K + 2))
    assert hits[1].score == pytest.approx(1 / (RRF_K + 1))
    assert hits[2].score == pytest.approx(1 / (RRF_K + 2))
    assert web.calls == [("storage", 10)] and other.calls == [("storage", 10)]
    assert len(await search_all([web, other], "storage", 2)) == 2


def test_local_bm25_scores_do_not_crowd_out_web_hits() -> None:
    # BM25 scores are in the tens, web rank scores below 1: merged by raw score, a limit of 4
    # would be all local. Merged by rank, the providers take turns.
    local = [hit(f"file:///docs/{n}.md", score, "local") for n, score in enumerate([14, 12, 9, 7])]
    web = [hit(f"https://w{n}.org", 1 / (1 + n), "searxng") for n in range(4)]
    by_score = sorted(local + web, key=lambda h: h.score, reverse=True)[:4]
    assert {h.provider for h in by_score} == {"local"}  # the problem this merge solves
    fused = fuse([local, web], 4)
    assert [h.provider for h in fused] == ["local", "searxng", "local", "searxng"]
    assert [h.url for h in fused] == [
        "file:///docs/0.md",
        "https://w0.org",
        "file:///docs/1.md",
        "https://w1.org",
    ]
    # Provider order only breaks ties: listed the other way round, web goes first.
    assert [h.provider for h in fuse([web, local], 2)] == ["searxng", "local"]
    # Fused scores are on one scale whatever the providers' scales were.
    assert fuse([local], 1)[0].score == fuse([web], 1)[0].score


def test_fuse_counts_a_page_once_per_provider_and_respects_the_limit() -> None:
    twice = [hit("https://a.org", 2.0, "p"), hit("https://a.org/", 1.0, "p")]
    single = [hit("https://b.org", 1.0, "q")]
    fused = fuse([twice, single], 5)
    # A provider listing a page twice does not vote twice: a.org ties b.org, and wins on order.
    assert [h.url for h in fused] == ["https://a.org", "https://b.org"]
    assert fused[0].score == fused[1].score
    assert fuse([twice, single], 0) == [] and fuse([], 3) == []


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
