"""Reading the web: fetching from a stub server on loopback, refusals, extraction and the cache."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from temporalio.exceptions import ApplicationError

from activities.read import ReadActivities
from domain.calls import ReadRequest
from domain.sources import SearchHit
from providers.artifacts import ArtifactStore
from providers.fetch import FetchPolicy, fetch
from providers.local_index import LocalIndex
from providers.search import normalise_url
from providers.web_read import WebReader, best_passages
from tests.fakes.web_server import StubWeb

OPEN = FetchPolicy(timeout_s=3.0, max_bytes=100_000, max_redirects=3, allow_private=True)


@pytest.fixture(scope="module")
def web() -> Iterator[StubWeb]:
    stub = StubWeb().start()
    yield stub
    stub.stop()


@pytest.fixture
def store(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(tmp_path / "artifacts")


async def refusal(url: str, policy: FetchPolicy = OPEN) -> ApplicationError:
    async with httpx.AsyncClient(timeout=policy.timeout_s) as client:
        with pytest.raises(ApplicationError) as caught:
            await fetch(client, url, policy)
    return caught.value


async def test_html_main_text_without_navigation(web: StubWeb, store: ArtifactStore) -> None:
    page = await WebReader(store, OPEN).read(f"{web.base_url}/article.html")
    assert page.title == "Flywheels store grid energy"
    assert "frequency regulation" in page.text and "carbon fibre" in page.text
    # trafilatura keeps the article, not the site's furniture.
    assert "Subscribe to our newsletter" not in page.text
    assert "Cookie settings" not in page.text


async def test_pdf_text(web: StubWeb, store: ArtifactStore) -> None:
    page = await WebReader(store, OPEN).read(f"{web.base_url}/paper.pdf")
    assert page.text == "Compressed air energy storage keeps air in salt caverns."
    assert page.title == "paper"


async def test_pdf_served_as_octet_stream_is_recognised(web: StubWeb, store) -> None:
    page = await WebReader(store, OPEN).read(f"{web.base_url}/download")
    assert page.text.startswith("Compressed air energy storage")


async def test_declared_charset_is_honoured(web: StubWeb, store: ArtifactStore) -> None:
    page = await WebReader(store, OPEN).read(f"{web.base_url}/latin1.html")
    assert page.title == "Café storage" and "Naïve." in page.text


async def test_second_read_is_served_from_the_cache(web: StubWeb, tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "shared")
    url = f"{web.base_url}/article.html?utm_source=feed"
    before = web.hits["/article.html"]
    first = await WebReader(store, OPEN).read(url)
    # Another reader (another run, another worker) on the same store, another spelling of the URL.
    second_reader = WebReader(store, OPEN)
    second = await second_reader.read(f"{web.base_url}/article.html")
    assert second == first
    assert second_reader.fetches == 0
    assert web.hits["/article.html"] == before + 1


async def test_oversize_body_is_refused(web: StubWeb) -> None:
    error = await refusal(f"{web.base_url}/huge.html")
    assert error.type == "too_large" and error.non_retryable


async def test_wrong_content_type_is_refused(web: StubWeb) -> None:
    error = await refusal(f"{web.base_url}/image.png")
    assert error.type == "unsupported_content" and error.non_retryable
    assert "image/png" in error.message


async def test_redirect_chain_within_the_limit_is_followed(web: StubWeb) -> None:
    async with httpx.AsyncClient() as client:
        fetched = await fetch(client, f"{web.base_url}/hop/2", OPEN)
    assert fetched.url.endswith("/article.html") and b"Flywheels" in fetched.body


async def test_redirect_chain_over_the_limit_is_refused(web: StubWeb) -> None:
    error = await refusal(f"{web.base_url}/hop/5")
    assert error.type == "too_many_redirects" and error.non_retryable


async def test_missing_page_is_final(web: StubWeb) -> None:
    missing = await refusal(f"{web.base_url}/nowhere")
    assert missing.type == "bad_request" and missing.non_retryable


async def test_slow_server_times_out_retryably(web: StubWeb, store: ArtifactStore) -> None:
    policy = FetchPolicy(timeout_s=1.0, allow_private=True)
    with pytest.raises(ApplicationError) as caught:
        await WebReader(store, policy).read(f"{web.base_url}/slow.html")
    assert caught.value.type == "provider_unavailable" and not caught.value.non_retryable


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9/", "http://[::1]/", "http://169.254.169.254/latest/meta-data/",
            "http://10.0.0.1/", "http://192.168.1.1/", "http://localhost/", "file:///etc/passwd"],
)  # fmt: skip
async def test_private_addresses_are_refused_by_default(url: str) -> None:
    error = await refusal(url, FetchPolicy())
    assert error.non_retryable and error.type in ("address_blocked", "bad_url")


async def test_redirect_into_the_private_network_is_refused() -> None:
    # A public address (a literal, so no DNS is needed offline) that redirects to loopback.
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "93.184.215.14":
            return httpx.Response(302, headers={"location": "http://127.0.0.1:8000/admin"})
        raise AssertionError(f"fetched {request.url} although it is private")

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(ApplicationError) as caught:
            await fetch(client, "http://93.184.215.14/start", FetchPolicy())
    assert caught.value.type == "address_blocked" and "127.0.0.1" in caught.value.message


async def test_rebound_name_is_caught_at_the_connection(
    web: StubWeb, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The name looked public when checked, then resolved to loopback for the connection.
    async def looked_public(url: str, policy: FetchPolicy) -> None:
        return None

    monkeypatch.setattr("providers.fetch.check_address", looked_public)
    before = web.hits["/article.html"]
    error = await refusal(f"{web.base_url}/article.html", FetchPolicy())
    assert error.type == "address_blocked" and "reached non-public 127.0.0.1" in error.message
    assert web.hits["/article.html"] == before + 1  # asked, but nothing of the body was used


async def test_page_server_error_is_retryable() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(503))
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(ApplicationError) as caught:
            await fetch(client, "http://93.184.215.14/", FetchPolicy())
    assert caught.value.type == "provider_unavailable" and not caught.value.non_retryable


async def test_429_passes_retry_after_on() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(429, headers={"retry-after": "7"}))
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(ApplicationError) as caught:
            await fetch(client, "http://93.184.215.14/", FetchPolicy())
    assert caught.value.next_retry_delay == timedelta(seconds=7)


async def test_read_activity_stores_web_text_and_best_passages(
    web: StubWeb, store: ArtifactStore, tmp_path: Path
) -> None:
    url = f"{web.base_url}/article.html"
    hit = SearchHit(source_id=normalise_url(url), title="t", url=url, provider="searxng")
    reads = ReadActivities(LocalIndex(tmp_path / "i.sqlite"), store, WebReader(store, OPEN))
    source = await reads.read_source(
        ReadRequest(run_id="r1", hit=hit, query="carbon fibre rotors", max_passages=1)
    )
    assert source.provider == "searxng" and source.title == "Flywheels store grid energy"
    assert store.read_text(source.artifact_ref).startswith("Flywheels store grid energy")
    assert source.passages and "carbon fibre" in source.passages[0].text


async def test_web_hit_without_a_reader_is_unsupported(store: ArtifactStore, tmp_path) -> None:
    hit = SearchHit(source_id="x", title="t", url="https://example.org/", provider="brave")
    reads = ReadActivities(LocalIndex(tmp_path / "i.sqlite"), store)
    with pytest.raises(ApplicationError) as caught:
        await reads.read_source(ReadRequest(run_id="r1", hit=hit, query="q"))
    assert caught.value.type == "unsupported_source" and caught.value.non_retryable


def test_best_passages_rank_by_the_query() -> None:
    # Paragraphs of 150 words each: too big to share a passage, so each is its own.
    tea = " ".join(["Tea is brewed from the leaves of the tea plant."] * 15)
    hydro = " ".join(["Pumped hydro moves water uphill to store energy."] * 15)
    passages = best_passages(f"{tea}\n\n{hydro}\n\n{tea}", "pumped hydro storage", 1)
    assert [p.id for p in passages] == ["p1"] and passages[0].text == hydro
    # No word of the query in the text: the first passages, in order.
    assert [p.id for p in best_passages(f"{tea}\n\n{hydro}", "zeppelins", 2)] == ["p0", "p1"]
