"""The bounds on parsing a document (issue 13, finding 3): charsets, trafilatura's input, PDF
pages and text length. In-process; the deadline and the killing are in
tests/integration/test_hostile_parsing.py."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import providers.extract as extract_module
from providers.extract import MAX_PDF_PAGES, MAX_TEXT_CHARS, extract
from providers.fetch import Fetched
from providers.page_text import TRAFILATURA_MAX_BYTES, charset_codec, decode, page_text
from tests.helpers.hostile_docs import shared_stream_pdf, wide_table_html


@pytest.mark.parametrize(
    ("declared", "codec"),
    [
        ("utf-8", "utf-8"),
        ("ISO-8859-1", "iso8859-1"),
        ("latin-1", "iso8859-1"),
        ("iso-8859-15", "iso8859-15"),
        ("windows-1252", "cp1252"),
        ("Shift_JIS", "shift_jis"),
        ("euc-jp", "euc_jp"),
        ("gb2312", "gb2312"),
        ("GBK", "gbk"),
        ("gb18030", "gb18030"),
        ("big5", "big5"),
        ("euc-kr", "euc_kr"),
        ("koi8-r", "koi8-r"),
        ("utf-16", "utf-16"),
        ("us-ascii", "ascii"),
        # Text codecs no page is written in, and names Python does not know: UTF-8.
        ("punycode", "utf-8-sig"),
        ("idna", "utf-8-sig"),
        ("rot13", "utf-8-sig"),
        ("unicode_escape", "utf-8-sig"),
        ("x-made-up", "utf-8-sig"),
        (None, "utf-8-sig"),
    ],
)
def test_only_known_charsets_are_decoded(declared: str | None, codec: str) -> None:
    assert charset_codec(declared) == codec


def test_punycode_page_is_not_decoded_as_punycode() -> None:
    # 0.8 MB: main decoded it as punycode, quadratically, in 72 s.
    body = b"a" * 400_000 + b"-" + b"abcdefghijklmnopqrstuvwxyz" * 15_000
    started = time.monotonic()
    text = decode(body, "punycode")
    assert time.monotonic() - started < 1.0
    assert text == body.decode("ascii")


def test_wide_table_over_the_cap_skips_trafilatura() -> None:
    html = wide_table_html(40_000)  # 1.4 MB: trafilatura took 13 s on main, plain text 0.4 s
    assert len(html) > TRAFILATURA_MAX_BYTES
    started = time.monotonic()
    doc = page_text(Fetched("http://example.org/wide.html", "text/html", html))
    assert time.monotonic() - started < 5.0
    assert doc.title == "Wide" and "cell 30000 with a few words" in doc.text
    assert len(doc.text) <= MAX_TEXT_CHARS


def test_plain_text_is_cut_at_the_text_cap() -> None:
    body = b"word " * (MAX_TEXT_CHARS // 2)
    doc = page_text(Fetched("http://example.org/notes.txt", "text/plain", body))
    assert len(doc.text) == MAX_TEXT_CHARS
    assert len(extract(Path("notes.txt"), body).text) == MAX_TEXT_CHARS


def test_pdf_pages_sharing_one_stream_stop_at_the_text_cap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 200 pages, each drawing the same ~50k characters: main extracted all of them (10 M
    # characters, ~40 s). A smaller cap keeps the test quick; the code reads it at call time.
    monkeypatch.setattr(extract_module, "MAX_TEXT_CHARS", 50_000)
    data = shared_stream_pdf(pages=200, stream_bytes=100_000)
    assert len(data) < 50_000  # mostly the 200 page objects
    started = time.monotonic()
    doc = extract(Path("shared.pdf"), data)
    assert time.monotonic() - started < 5.0
    assert 40_000 < len(doc.text) <= 50_000


def test_pdf_pages_are_capped() -> None:
    doc = extract(Path("long.pdf"), shared_stream_pdf(pages=MAX_PDF_PAGES + 100, stream_bytes=1))
    assert doc.text.count("many words repeated on every page") == MAX_PDF_PAGES
