"""Pages that are slow or huge to parse (issue 13, finding 3), read through the extraction pool.

A stub server on 127.0.0.1 serves them; extraction runs in the pool's child processes, with a
short deadline so that a page which used to take many seconds is refused in about two.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError

from activities.read import ReadActivities
from providers.artifacts import ArtifactStore
from providers.extract import extract
from providers.extract_pool import ExtractPool
from providers.fetch import FetchPolicy
from providers.local_index import LocalIndex
from providers.web_read import WebReader
from settings import Settings
from tests.fakes.web_server import ARTICLE, PDF
from tests.helpers.hostile_docs import shared_stream_pdf, wide_table_html
from worker import build_activities, closable_owners

DEADLINE_S = 1.5
# 0.96 MB, just under trafilatura's input cap: main took ~5 s at 0.9 MB on a loaded 2-core box.
WIDE = wide_table_html(27_000)
OPEN = FetchPolicy(timeout_s=10.0, max_bytes=2_000_000, allow_private=True)
# path -> (content type, body)
PAGES: dict[str, tuple[str, bytes]] = {
    "/wide.html": ("text/html", WIDE),
    "/punycode.html": ("text/html; charset=punycode", b"<p>plain ascii words-abc</p>"),
    "/notes.md": ("text/markdown", b"# Flywheels\n\nA flywheel stores energy as rotation."),
    "/paper.pdf": ("application/pdf", PDF),
}


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            # Any query string reaches the same page under another cache key.
            kind, body = PAGES.get(self.path.split("?")[0], ("text/html", ARTICLE.encode()))
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A killed child is reaped by the pool (join), so a zombie does not linger either.
    return True


async def test_wide_table_is_killed_at_the_deadline_and_the_pool_goes_on(
    base_url: str, tmp_path: Path
) -> None:
    pool = ExtractPool(workers=2, deadline_s=DEADLINE_S)
    reader = WebReader(ArtifactStore(tmp_path), OPEN, pool=pool)
    # Start both children first: the deadline does not count a child's start-up, the test does.
    await asyncio.gather(*(reader.read(f"{base_url}/article.html?warm={i}") for i in (1, 2)))
    before = set(pool.children())
    assert len(before) == 2

    started = time.monotonic()
    hostile = asyncio.create_task(reader.read(f"{base_url}/wide.html"))
    # While one child is stuck on the table, the other keeps reading.
    page = await reader.read(f"{base_url}/article.html?during=1")
    assert page.title == "Flywheels store grid energy"
    assert not hostile.done()
    with pytest.raises(ApplicationError) as caught:
        await hostile
    elapsed = time.monotonic() - started
    assert caught.value.type == "extraction_timeout" and caught.value.non_retryable
    assert "wide.html" in str(caught.value)
    assert elapsed < DEADLINE_S + 2.0, elapsed

    # The child that ran out of time is gone; the pool still reads.
    killed = before - set(pool.children())
    assert len(killed) == 1 and not any(alive(pid) for pid in killed)
    pages = await asyncio.gather(
        *(reader.read(f"{base_url}/article.html?after={i}") for i in (1, 2))
    )
    assert all(p.text.startswith("Flywheels store grid energy") for p in pages)
    # The surviving child may have served both (children start only when needed).
    assert 1 <= len(pool.children()) <= 2 and killed.isdisjoint(pool.children())

    # Closing the reader closes the pool it was handed: no child outlives the worker.
    children = pool.children()
    await reader.aclose()
    assert pool.children() == [] and not any(alive(pid) for pid in children)
    with pytest.raises(RuntimeError, match="closed"):
        pool.call(extract, Path("a.md"), b"# late")


async def test_punycode_charset_is_read_as_utf8(base_url: str, tmp_path: Path) -> None:
    # Decoded as punycode this ASCII would come out as other letters (and a big page takes
    # quadratic time: 0.8 MB took 72 s on main); it is not a charset any page is written in.
    reader = WebReader(ArtifactStore(tmp_path), OPEN)
    page = await reader.read(f"{base_url}/punycode.html")
    assert page.text == "plain ascii words-abc"


async def test_markdown_and_pdf_still_read_through_the_pool(base_url: str, tmp_path) -> None:
    reader = WebReader(ArtifactStore(tmp_path), OPEN)
    notes = await reader.read(f"{base_url}/notes.md")
    assert notes.text == "# Flywheels\n\nA flywheel stores energy as rotation."
    paper = await reader.read(f"{base_url}/paper.pdf")
    assert paper.title == "paper" and "salt caverns" in paper.text


def test_index_sync_through_the_pool_counts_a_slow_file_as_failed(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    # 5 kB whose first page alone takes pypdf about 2 s (a 1 MB compressed content stream).
    (docs / "big.pdf").write_bytes(shared_stream_pdf(pages=4, stream_bytes=1_000_000))
    (docs / "notes.md").write_text("# Flywheels\n\nA flywheel stores energy as rotation.")
    pool = ExtractPool(workers=1, deadline_s=0.3)
    try:
        stats = LocalIndex(tmp_path / "index.sqlite").sync([docs], partial(pool.call, extract))
    finally:
        pool.close()
    # The PDF (first in order) is killed at the deadline; the next file gets a fresh child.
    assert "longer than 0.3 s" in stats.failed[str(docs / "big.pdf")]
    assert stats.added == 1 and len(stats.failed) == 1


def test_a_child_that_cannot_start_is_not_the_documents_fault() -> None:
    # RuntimeError, not ExtractionError: the read is retried instead of leaving a gap.
    pool = ExtractPool(workers=1, preload=("no_such_module_for_this_test",))
    try:
        with pytest.raises(RuntimeError, match="failed to start"):
            pool.call(extract, Path("a.md"), b"# Title\n\nText.")
        assert pool.children() == []
    finally:
        pool.close()


async def test_closing_the_pool_stops_a_document_in_progress(base_url: str, tmp_path) -> None:
    # What the worker does on stop: the child parsing the table is killed, not waited for.
    pool = ExtractPool(workers=1, deadline_s=60.0)
    reader = WebReader(ArtifactStore(tmp_path), OPEN, pool=pool)
    await reader.read(f"{base_url}/article.html?warm=1")  # the child is up
    hostile = asyncio.create_task(reader.read(f"{base_url}/wide.html"))
    for _ in range(100):  # fetched means handed to the pool in the same step
        if reader.fetches == 2:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # and sent to the child by the pool's thread
    children = pool.children()
    started = time.monotonic()
    await reader.aclose()
    # Retryable: the worker is stopping, and the document gets its verdict on another one.
    with pytest.raises(RuntimeError, match="extraction process died"):
        await hostile
    assert time.monotonic() - started < 5.0
    assert not any(alive(pid) for pid in children)


async def test_the_worker_parses_in_its_pool_and_closes_it_on_stop(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notes.md").write_text("# Flywheels\n\nA flywheel stores energy as rotation.")
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path / "data",
        docs_dirs=[docs],
        search_providers=["local", "searxng"],
        searxng_url="http://127.0.0.1:9",
        extract_timeout_s=7.0,
    )
    built = await asyncio.to_thread(build_activities, settings)
    read = next(o for o in closable_owners(built) if isinstance(o, ReadActivities))
    assert read.web is not None and read.web.pool.deadline_s == 7.0
    children = read.web.pool.children()  # the index sync parsed notes.md in one
    assert len(children) == 1 and all(alive(pid) for pid in children)
    # What WorkerGroup does once its workers have stopped.
    for owner in closable_owners(built):
        await owner.aclose()
    assert read.web.pool.children() == [] and not any(alive(pid) for pid in children)
