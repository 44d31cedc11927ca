"""Plain text out of the document formats the local index understands, and passage splitting.

Kept apart from the index so the parsing rules can be tested (and extended) without SQLite.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
TEXT_SUFFIXES = frozenset({".txt"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
PDF_SUFFIXES = frozenset({".pdf"})
SUPPORTED_SUFFIXES = MARKDOWN_SUFFIXES | TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES

# Passages are what the LLM reads and cites: big enough to carry a thought, small enough that
# a handful fits a small model's context window.
CHARS_PER_WORD = 7
PASSAGE_MAX_WORDS = 220
# Bounds on what one document may cost, whoever wrote it: a PDF's pages can all draw one big
# content stream (a 5 kB file gave 4 M characters), so pages are counted and text is cut.
MAX_PDF_PAGES = 300
MAX_TEXT_CHARS = 1_000_000
_HEADING = re.compile(r" {0,3}#{1,6}[ \t][^\n]*$")


class ExtractionError(Exception):
    """A file could not be turned into text (corrupt, encrypted, or empty)."""


@dataclass(frozen=True)
class Extracted:
    title: str
    text: str


def extract(path: Path, data: bytes | None = None) -> Extracted:
    """Title and plain text of `path`; `data` saves a second read when the caller has the bytes."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise ExtractionError(f"unsupported file type {suffix!r}: {path}")
    raw = path.read_bytes() if data is None else data
    if suffix in PDF_SUFFIXES:
        title, text = _pdf(raw)
    elif suffix in HTML_SUFFIXES:
        title, text = _html(_decode(raw))
    elif suffix in MARKDOWN_SUFFIXES:
        title, text = _markdown(_decode(raw))
    else:
        title, text = None, _decode(raw)
    text = _tidy(text)[:MAX_TEXT_CHARS]
    if not text:
        raise ExtractionError(f"no extractable text: {path}")
    return Extracted(title=(title or "").strip() or path.stem, text=text)


def split_passages(text: str, max_words: int = PASSAGE_MAX_WORDS) -> list[str]:
    """Paragraph-aligned passages of at most `max_words` words; deterministic, so ids are stable.

    Size is measured in words or, for text without spaces (Chinese, Japanese, long tokens), in
    characters at CHARS_PER_WORD: passages travel in workflow payloads and must stay small.
    """
    passages: list[str] = []
    current: list[str] = []
    count = 0
    for paragraph in re.split(r"\n\s*\n", text):
        weight = _weight(paragraph)
        if not weight:
            continue
        if count and count + weight > max_words:
            # A heading belongs with the text under it, not at the tail of the previous passage.
            carried = current.pop() if len(current) > 1 and _HEADING.match(current[-1]) else None
            passages.append("\n\n".join(current))
            current = [carried] if carried else []
            count = _weight(carried) if carried else 0
        if weight > max_words:
            # A wall of text (typical of PDFs) has no paragraph breaks to honour; a carried
            # heading still opens its first window.
            windows = _windows(paragraph, max_words)
            passages.append("\n\n".join([*current, windows[0]]))
            passages.extend(windows[1:])
            current, count = [], 0
            continue
        current.append(paragraph.strip())
        count += weight
    if current:
        passages.append("\n\n".join(current))
    return passages


def _weight(paragraph: str) -> int:
    return max(len(paragraph.split()), len(paragraph.strip()) // CHARS_PER_WORD)


def _windows(text: str, max_words: int) -> list[str]:
    """Cut `text` into pieces of at most `max_words` words and `max_words * CHARS_PER_WORD`
    characters; a "word" longer than that (no spaces) is cut by characters."""
    size = max_words * CHARS_PER_WORD
    words = [w[i : i + size] for w in text.split() for i in range(0, len(w), size)]
    pieces: list[str] = []
    current: list[str] = []
    chars = 0
    for word in words:
        if current and (len(current) == max_words or chars + len(word) > size):
            pieces.append(" ".join(current))
            current, chars = [], 0
        current.append(word)
        chars += len(word) + 1
    if current:
        pieces.append(" ".join(current))
    return pieces


def _decode(raw: bytes) -> str:
    # utf-8-sig drops a BOM; `replace` keeps one bad byte from losing a whole document.
    return raw.decode("utf-8-sig", errors="replace")


def _tidy(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    lines = [re.sub(r"[ \t\f\v]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


_ATX_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)[ \t#]*$")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")


def _markdown(source: str) -> tuple[str | None, str]:
    title = None
    lines = source.splitlines()
    for i, line in enumerate(lines):
        match = _ATX_HEADING.match(line)
        if match:
            title = match.group(1)
            break
        # Setext heading: a text line underlined with '='.
        if i + 1 < len(lines) and line.strip() and re.fullmatch(r" {0,3}=+\s*", lines[i + 1]):
            title = line.strip()
            break
    # Link targets are noise for ranking and for the reader; the link text is the content.
    return title, _LINK.sub(r"\1", source)


class _HTMLText(HTMLParser):
    _SKIP = frozenset({"script", "style", "noscript", "template", "svg"})
    _BLOCK = frozenset(
        {"p", "div", "section", "article", "header", "footer", "main", "aside", "nav", "ul",
         "ol", "table", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "figure",
         "dl", "form", "hr"}
    )  # fmt: skip
    _LINE = frozenset({"br", "li", "tr", "dt", "dd", "caption", "figcaption"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title_parts: list[str] = []
        self.h1_parts: list[str] = []
        self._skip_depth = 0
        self._pre_depth = 0
        self._in_title = False
        self._in_h1 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skip_depth += 1
        elif tag == "pre":
            self._pre_depth += 1
        elif tag == "title":
            self._in_title = True
        elif tag == "h1" and not self.h1_parts:
            self._in_h1 = True
        self._break(tag, start=True)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag == "pre":
            self._pre_depth = max(0, self._pre_depth - 1)
        elif tag == "title":
            self._in_title = False
        elif tag == "h1":
            self._in_h1 = False
        self._break(tag, start=False)

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        if self._in_title:
            self.title_parts.append(data)
            return
        if self._in_h1:
            self.h1_parts.append(data)
        # Source line breaks are insignificant in HTML, except inside <pre>; the breaks that
        # matter are the ones `_break` inserts for block elements.
        self.parts.append(data if self._pre_depth else re.sub(r"\s+", " ", data))

    def _break(self, tag: str, *, start: bool) -> None:
        if tag in self._BLOCK:
            self.parts.append("\n\n")
        elif tag in self._LINE and start:
            self.parts.append("\n")


def _html(source: str) -> tuple[str | None, str]:
    parser = _HTMLText()
    parser.feed(source)
    parser.close()
    title = " ".join("".join(parser.title_parts).split()) or " ".join(
        "".join(parser.h1_parts).split()
    )
    return title or None, "".join(parser.parts)


def _pdf(raw: bytes) -> tuple[str | None, str]:
    # Imported on first use: pypdf adds ~20 MB to every worker, most of which never read a PDF.
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ExtractionError("encrypted PDF")
        pages: list[str] = []
        chars = 0
        for page in reader.pages[:MAX_PDF_PAGES]:
            pages.append(page.extract_text() or "")
            chars += len(pages[-1])
            if chars >= MAX_TEXT_CHARS:  # the rest would be cut anyway
                break
        title = reader.metadata.title if reader.metadata else None
    except ExtractionError:
        raise
    except Exception as exc:
        # pypdf raises many types for broken files; callers only need "could not read this".
        raise ExtractionError(f"unreadable PDF: {exc}") from exc
    return (str(title) if title else None), "\n\n".join(pages)
