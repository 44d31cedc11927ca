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

import httpx
from temporalio.exceptions import ApplicationError

from domain.sources import Passage
from providers.artifacts import ArtifactStore
from providers.extract import ExtractionError, split_passages
from providers.extract_pool import ExtractionTimeout, ExtractPool, shared_pool
from providers.fetch import Fetched, FetchPolicy, fetch, page_client, refused
from providers.fts import match_expression
from providers.page_text import page_text
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
        self,
        store: ArtifactStore,
        policy: FetchPolicy,
        client: httpx.AsyncClient | None = None,
        pool: ExtractPool | None = None,
    ) -> None:
        self.store = store
        self.policy = policy
        # The guarded client unless a test hands in its own transport.
        self.client = client or page_client(policy)
        # A pool handed in is the reader's to close; without one, the process-wide pool.
        self.pool = pool or shared_pool()
        self._owns_pool = pool is not None
        self.fetches = 0  # how many pages came from the network (the rest from the cache)

    async def aclose(self) -> None:
        await self.client.aclose()
        if self._owns_pool:
            await self.pool.aclose()

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
        page = await self.to_text(fetched)
        await asyncio.to_thread(self.store.write_json, key, page.__dict__)
        return page

    async def to_text(self, fetched: Fetched) -> WebPage:
        """Title and main text of a fetched body, extracted in the pool under its deadline.

        A page with no text, or one that outlasts the deadline, is refused non-retryably: the
        same bytes would fail the same way again, and the run reads on with a gap.
        """
        try:
            doc = await self.pool.run(page_text, fetched)
        except ExtractionTimeout as exc:
            raise refused(f"{fetched.url}: {exc}; left unread", "extraction_timeout") from exc
        except ExtractionError as exc:
            raise refused(f"{fetched.url}: {exc}", "unreadable_content") from exc
        return WebPage(url=fetched.url, title=doc.title, text=doc.text)


def transport_timeout(url: str) -> ApplicationError:
    return ApplicationError(f"fetch {url}: timed out", type="provider_unavailable")


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
