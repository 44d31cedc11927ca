"""Just enough Markdown for a report: sections and citations for JSON, and a plain HTML page.

The report is LLM output and may quote fetched web pages, so it is untrusted: every character is
escaped before the few inline forms we support are turned into tags. Citations are `[n]`, where
n is a source's number in the run's sources.json.
"""

from __future__ import annotations

import html
import re
from typing import Any

from api.schemas import Citation, ReportSection

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s*[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\d+[.)]\s+(.*)$")
# Applied to already-escaped text, so `&`, `<`, `"` cannot appear raw in the URL or the label.
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^\s)]+)\)")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_CODE = re.compile(r"`([^`\n]+)`")
_CITATION = re.compile(r"\[(\d{1,4})\]")
_TAG = re.compile(r"(<[^>]*>)")
# The heading `render_report` puts over its list of cited sources.
SOURCES_TITLE = "sources"


def citation_numbers(text: str) -> list[int]:
    """The source numbers cited in `text`, in order of first citation."""
    return list(dict.fromkeys(int(n) for n in _CITATION.findall(text)))


def numbered_sources(sources: Any) -> dict[int, dict[str, Any]]:
    """sources.json by number (it is a list of dicts, each with its `number`)."""
    items = sources if isinstance(sources, list) else []
    return {
        s["number"]: s for s in items if isinstance(s, dict) and isinstance(s.get("number"), int)
    }


def report_citations(sections: list[ReportSection], sources: Any) -> list[Citation]:
    """Every source the report body cites, with where it is cited and the passages it used."""
    by_number = numbered_sources(sources)
    cited_in: dict[int, list[str]] = {}
    for section in sections:
        if section.title.strip().lower() == SOURCES_TITLE:
            continue  # the list of sources itself is not a citation
        for number in section.citations:
            cited_in.setdefault(number, []).append(section.title)
    citations = []
    for number, titles in sorted(cited_in.items()):
        source = by_number.get(number, {})
        passages = [p for p in source.get("passages") or [] if isinstance(p, dict)]
        citations.append(
            Citation(
                number=number,
                source_id=source.get("source_id"),
                title=source.get("title"),
                url=source.get("url"),
                sections=list(dict.fromkeys(titles)),
                passages=[
                    {"id": str(p.get("id", "")), "text": str(p.get("text", ""))}
                    for p in passages
                    if p.get("cited")
                ],
            )
        )
    return citations


def markdown_sections(markdown: str) -> list[ReportSection]:
    """Split on headings; text before the first heading becomes an untitled level-0 section."""
    sections: list[ReportSection] = []
    title, level = "", 0
    lines: list[str] = []
    for line in markdown.splitlines():
        if m := _HEADING.match(line):
            if title or any(s.strip() for s in lines):
                sections.append(_section(title, level, lines))
            title, level, lines = m.group(2), len(m.group(1)), []
        else:
            lines.append(line)
    if title or any(s.strip() for s in lines):
        sections.append(_section(title, level, lines))
    return sections


def _section(title: str, level: int, lines: list[str]) -> ReportSection:
    content = _join(lines)
    return ReportSection(
        title=title, level=level, content=content, citations=citation_numbers(content)
    )


def _join(lines: list[str]) -> str:
    return "\n".join(lines).strip()


def _inline(text: str, cited: frozenset[int] = frozenset()) -> str:
    out = html.escape(text, quote=True)
    out = _CODE.sub(r"<code>\1</code>", out)
    out = _BOLD.sub(r"<strong>\1</strong>", out)
    out = _LINK.sub(r'<a href="\2" rel="noopener noreferrer">\1</a>', out)
    if not cited:
        return out

    def link(m: re.Match[str]) -> str:
        # Only numbers with a source entry below become links: no dangling anchors.
        n = m.group(1)
        if int(n) not in cited:
            return m.group(0)
        return f'<a class="cite" href="#source-{n}">{m.group(0)}</a>'

    # Every `<` left is one of our tags (the text was escaped), so this splits text from markup
    # and a `[n]` inside a link's address stays as it is.
    parts = _TAG.split(out)
    return "".join(p if p.startswith("<") else _CITATION.sub(link, p) for p in parts)


def _sources_html(by_number: dict[int, dict[str, Any]]) -> list[str]:
    out = ['<section id="sources">', "<h2>Sources</h2>", "<ol>"]
    for number, source in sorted(by_number.items()):
        title = _inline(str(source.get("title") or source.get("source_id") or "untitled"))
        url = str(source.get("url") or "")
        link = _inline(f"[{url}]({url})") if url.startswith(("http://", "https://")) else ""
        out.append(f'<li id="source-{number}" value="{number}"><strong>{title}</strong> {link}')
        for passage in source.get("passages") or []:
            if isinstance(passage, dict) and passage.get("cited"):
                out.append(f"<blockquote>{_inline(str(passage.get('text', '')))}</blockquote>")
        out.append("</li>")
    return [*out, "</ol>", "</section>"]


def markdown_to_html(markdown: str, title: str, sources: Any = None) -> str:
    """A standalone page; with sources.json, `[n]` links to source n and its cited passages."""
    by_number = numbered_sources(sources)
    cited = frozenset(by_number)
    skipping: int | None = None  # heading level of the report's own source list, while in it
    body: list[str] = []
    paragraph: list[str] = []
    list_tag: str | None = None

    def flush() -> None:
        nonlocal list_tag
        if paragraph:
            body.append("<p>" + "<br>\n".join(_inline(p, cited) for p in paragraph) + "</p>")
            paragraph.clear()
        if list_tag:
            body.append(f"</{list_tag}>")
            list_tag = None

    for line in markdown.splitlines():
        heading = _HEADING.match(line)
        item = _BULLET.match(line) or _NUMBERED.match(line)
        if heading:
            flush()
            n = len(heading.group(1))
            if skipping is not None and n > skipping:
                continue
            skipping = None
            if by_number and heading.group(2).strip().lower() == SOURCES_TITLE:
                skipping = n  # replaced by the richer list built from sources.json
                continue
            body.append(f"<h{n}>{_inline(heading.group(2), cited)}</h{n}>")
        elif skipping is not None:
            continue
        elif item:
            tag = "ul" if item.re is _BULLET else "ol"
            if paragraph or list_tag != tag:
                flush()
                body.append(f"<{tag}>")
                list_tag = tag
            body.append(f"<li>{_inline(item.group(1), cited)}</li>")
        elif not line.strip():
            flush()
        else:
            if list_tag:
                flush()
            paragraph.append(line.strip())
    flush()
    if by_number:
        body += _sources_html(by_number)
    return (
        '<!doctype html>\n<html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;"
        "padding:0 1rem;line-height:1.5}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
