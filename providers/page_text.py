"""A fetched web page's title and main text: the part of a read that runs in an extraction child.

Everything here is pure CPU over bytes a stranger chose, so it is bounded: only well-known
charsets are decoded (Python also ships text codecs such as `punycode`, quadratic on a page of
its size, and `idna` or `rot13`, which no page is written in), trafilatura only sees pages up to
TRAFILATURA_MAX_BYTES (its table handling is super-linear: a 0.4 MB single-row table took 6 s),
and the text is cut at MAX_TEXT_CHARS. The extraction pool's deadline covers the rest.
"""

from __future__ import annotations

import codecs
from pathlib import Path, PurePosixPath

import httpx

from providers.extract import (
    MAX_TEXT_CHARS,
    Extracted,
    ExtractionError,
    _html,
    _tidy,
    extract,
)
from providers.fetch import HTML_TYPES, PDF_TYPES, Fetched

# Larger pages get the plain HTML-to-text of the local index (linear) instead of trafilatura.
TRAFILATURA_MAX_BYTES = 1_000_000

# Codec names as `codecs.lookup(...).name` spells them. A charset outside the list is read as
# UTF-8 with replacement characters: a page in a rare encoding loses its accents, not its read.
ALLOWED_CHARSETS = frozenset(
    {"utf-8", "utf-8-sig", "ascii", "utf-16", "utf-16-le", "utf-16-be", "utf-32",
     "cp437", "cp850", "koi8-r", "koi8-u", "mac-roman",
     "shift_jis", "cp932", "euc_jp", "iso2022_jp", "gb2312", "gbk", "gb18030", "big5",
     "big5hkscs", "cp950", "euc_kr", "cp949", "iso2022_kr", "tis-620"}
    | {f"iso8859-{n}" for n in (*range(1, 12), *range(13, 17))}
    | {f"cp{n}" for n in range(1250, 1259)}
)  # fmt: skip


def charset_codec(charset: str | None) -> str:
    """The codec to decode a body declared as `charset`: the declared one if allowed, else UTF-8
    (utf-8-sig, which also drops a byte-order mark)."""
    if charset:
        try:
            name = codecs.lookup(charset).name
        except LookupError:  # a charset name Python does not know
            return "utf-8-sig"
        if name in ALLOWED_CHARSETS:
            return name
    return "utf-8-sig"


def decode(body: bytes, charset: str | None) -> str:
    # `replace` keeps one bad byte from losing a page.
    return body.decode(charset_codec(charset), errors="replace")


def main_text(html: str) -> tuple[str | None, str]:
    """Title and main text of an HTML page (tidied, at most MAX_TEXT_CHARS)."""
    fallback_title, fallback_text = _html(html)
    if len(html.encode("utf-8", errors="replace")) > TRAFILATURA_MAX_BYTES:
        return fallback_title, _tidy(fallback_text)[:MAX_TEXT_CHARS]
    # trafilatura drops navigation, footers and cookie banners; on pages it cannot make sense
    # of (it returns None) the local index's plain HTML-to-text still gives something.
    import trafilatura  # on first use: ~12 MB a worker without web providers never needs

    text = trafilatura.extract(html, include_comments=False, include_tables=True, favor_recall=True)
    metadata = trafilatura.extract_metadata(html)
    title = (metadata.title if metadata else None) or fallback_title
    return title, _tidy(text or fallback_text)[:MAX_TEXT_CHARS]


def page_text(fetched: Fetched) -> Extracted:
    """Title and main text of a fetched body; ExtractionError for a page with no text."""
    name = PurePosixPath(httpx.URL(fetched.url).path).stem or "page"
    if fetched.content_type in PDF_TYPES:
        doc = extract(Path(f"{name}.pdf"), fetched.body)
        title, text = doc.title, doc.text
    elif fetched.content_type in HTML_TYPES:
        title, text = main_text(decode(fetched.body, fetched.charset))
    else:
        title, text = None, _tidy(decode(fetched.body, fetched.charset))[:MAX_TEXT_CHARS]
    if not text:
        raise ExtractionError("no readable text")
    return Extracted(title=(title or name).strip()[:300], text=text)
