"""Web pages as text: fetch, extract the main text, cache by URL, pick the passages to read.

The cache lives in the artifact store under `web/`, keyed by the normalised URL, so a page read
by one run is served to every later run without another request (and an activity retried after
the fetch succeeded does not fetch again).
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import httpx
from temporalio.exceptions import ApplicationError

from domain.sources import Passage
from providers.artifacts import ArtifactStore
from providers.extract import ExtractionError, _html, _tidy, extract, split_passages
from providers.fetch import (
    HTML_TYPES,
    PDF_TYPES,
    Fetched,
    FetchPolicy,
    fetch,
    page_client,
    refused,
)
from providers.fts import match_expression
from providers.search import normalise_url


@dataclass(frozen=True)
class WebPage:
    url: str
    title: str
    text: str


def cache_key(url: str) -> str:
    digest = hashlib.sha256(normalise_url(url).encode("utf-8")).hexdigest()
    return f"web/{digest[:2]}/{digest[:32]}.json"


class WebReader:
    def __init__(
        self, store: ArtifactStore, policy: FetchPolicy, client: httpx.AsyncClient | None = None
    ) -> None:
        self.store = store
        self.policy = policy
        # The guarded client unless a test hands in its own transport.
        self.client = client or page_client(policy)
        self.fetches = 0  # how many pages came from the network (the rest from the cache)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def read(self, url: str) -> WebPage:
        key = cache_key(url)
        if await asyncio.to_thread(self.store.exists, key):
            cached = await asyncio.to_thread(self.store.read_json, key)
            return WebPage(**cached)
        try:
            # Per-request timeouts do not stop a server that drips a byte at a time.
            async with asyncio.timeout(self.policy.timeout_s):
                fetched = await fetch(self.client, url, self.policy)
        except TimeoutError as exc:
            raise transport_timeout(url) from exc
        self.fetches += 1
        # trafilatura and pypdf are CPU-bound; off the event loop they do not stall the worker.
        page = await asyncio.to_thread(to_text, fetched)
        await asyncio.to_thread(self.store.write_json, key, page.__dict__)
        return page


def transport_timeout(url: str) -> ApplicationError:
    return ApplicationError(f"fetch {url}: timed out", type="provider_unavailable")


def to_text(fetched: Fetched) -> WebPage:
    """Title and main text of a fetched body; refuses (non-retryably) a page with no text."""
    name = PurePosixPath(httpx.URL(fetched.url).path).stem or "page"
    try:
        if fetched.content_type in PDF_TYPES:
            doc = extract(Path(f"{name}.pdf"), fetched.body)
            title, text = doc.title, doc.text
        elif fetched.content_type in HTML_TYPES:
            title, text = _main_text(_decode(fetched))
        else:
            title, text = None, _tidy(_decode(fetched))
    except ExtractionError as exc:
        raise refused(f"{fetched.url}: {exc}", "unreadable_content") from exc
    if not text:
        raise refused(f"{fetched.url}: no readable text", "unreadable_content")
    return WebPage(url=fetched.url, title=(title or name).strip()[:300], text=text)


def _decode(fetched: Fetched) -> str:
    # The charset the server declared, else UTF-8; `replace` keeps one bad byte from losing a page.
    try:
        return fetched.body.decode(fetched.charset or "utf-8-sig", errors="replace")
    except LookupError:  # a charset name Python does not know
        return fetched.body.decode("utf-8", errors="replace")


def _main_text(html: str) -> tuple[str | None, str]:
    # trafilatura drops navigation, footers and cookie banners; on pages it cannot make sense
    # of (it returns None) the local index's plain HTML-to-text still gives something.
    import trafilatura  # on first use: ~12 MB a worker without web providers never needs

    fallback_title, fallback_text = _html(html)
    text = trafilatura.extract(html, include_comments=False, include_tables=True, favor_recall=True)
    metadata = trafilatura.extract_metadata(html)
    title = (metadata.title if metadata else None) or fallback_title
    return title, _tidy(text or fallback_text)


def best_passages(text: str, query: str, k: int) -> list[Passage]:
    """The `k` passages of `text` that match `query` best by BM25, as the local index ranks.

    An in-memory FTS5 table gives web pages the same ranking and passage ids (`p<ord>`) as
    local documents without indexing pages nobody will search again.
    """
    passages = split_passages(text)
    if k <= 0 or not passages:
        return []
    expression = match_expression(query)
    rows: list[tuple[int, str]] = []
    if expression is not None:
        with sqlite3.connect(":memory:") as conn:
            conn.execute("CREATE VIRTUAL TABLE p USING fts5(body, tokenize='porter unicode61')")
            conn.executemany("INSERT INTO p(rowid, body) VALUES (?, ?)", enumerate(passages))
            rows = conn.execute(
                "SELECT rowid, body FROM p WHERE p MATCH ? ORDER BY bm25(p) LIMIT ?",
                (expression, k),
            ).fetchall()
    if not rows:
        rows = list(enumerate(passages))[:k]
    return [Passage(id=f"p{ord_}", text=body) for ord_, body in rows]
