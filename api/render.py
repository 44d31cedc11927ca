"""A report in the API's formats: sections and citations for JSON, and a standalone HTML page.

The report is LLM output and may quote fetched web pages, so it is untrusted: its Markdown is
parsed by markdown-it-py and the HTML sanitised by nh3 (api/markdown_html.py). Citations are
`[n]` (domain/citations.py), where n is a source's number in the run's sources.json.
"""

from __future__ import annotations

import html
from typing import Any

from markdown_it.token import Token

from api.markdown_html import parse, render_tokens, sanitise
from api.report_schemas import Citation, ReportSection
from domain.citations import citation_numbers

__all__ = ["citation_numbers", "markdown_sections", "markdown_to_html", "report_citations"]

# The heading `render_report` puts over its list of cited sources.
SOURCES_TITLE = "sources"


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


def _headings(tokens: list[Token]) -> list[tuple[int, str, int, int]]:
    """(level, title, first line, line after) of each top-level heading, in order."""
    found = []
    for i, token in enumerate(tokens):
        if token.type == "heading_open" and token.level == 0 and token.map:
            title = tokens[i + 1].content.strip()
            found.append((int(token.tag[1]), title, token.map[0], token.map[1]))
    return found


def markdown_sections(markdown: str) -> list[ReportSection]:
    """Split on headings; text before the first heading becomes an untitled level-0 section."""
    lines = markdown.splitlines()
    headings = _headings(parse(markdown))
    sections: list[ReportSection] = []
    starts = [(0, "", 0, 0), *headings]
    for n, (level, title, _, body_from) in enumerate(starts):
        body_to = headings[n][2] if n < len(headings) else len(lines)
        content = "\n".join(lines[body_from:body_to]).strip()
        if title or content:
            sections.append(
                ReportSection(
                    title=title, level=level, content=content, citations=citation_numbers(content)
                )
            )
    return sections


def _without_source_list(tokens: list[Token]) -> list[Token]:
    """The report's own plain source list dropped (a richer one is built from sources.json)."""
    kept: list[Token] = []
    skipping: int | None = None  # heading level of the report's own source list, while in it
    for i, token in enumerate(tokens):
        if token.type == "heading_open" and token.level == 0:
            level = int(token.tag[1])
            if skipping is not None and level <= skipping:
                skipping = None
            if skipping is None and tokens[i + 1].content.strip().lower() == SOURCES_TITLE:
                skipping = level
        if skipping is None:
            kept.append(token)
    return kept


def _sources_html(by_number: dict[int, dict[str, Any]]) -> list[str]:
    out = ['<section id="sources">', "<h2>Sources</h2>", "<ol>"]
    for number, source in sorted(by_number.items()):
        title = html.escape(str(source.get("title") or source.get("source_id") or "untitled"))
        url = str(source.get("url") or "")
        # Only web addresses become links; a local document's path is left out.
        link = (
            f'<a href="{html.escape(url)}">{html.escape(url)}</a>'
            if url.startswith(("http://", "https://"))
            else ""
        )
        out.append(f'<li id="source-{number}" value="{number}"><strong>{title}</strong> {link}')
        for passage in source.get("passages") or []:
            if isinstance(passage, dict) and passage.get("cited"):
                out.append(f"<blockquote>{html.escape(str(passage.get('text', '')))}</blockquote>")
        out.append("</li>")
    return [*out, "</ol>", "</section>"]


def markdown_to_html(markdown: str, title: str, sources: Any = None) -> str:
    """A standalone page; with sources.json, `[n]` links to source n and its cited passages."""
    by_number = numbered_sources(sources)
    tokens = parse(markdown)
    if by_number:
        tokens = _without_source_list(tokens)
    body = render_tokens(tokens, {"cite": "anchor", "cited": frozenset(by_number)})
    if by_number:
        body += "\n".join(_sources_html(by_number)) + "\n"
    return (
        '<!doctype html>\n<html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;"
        "padding:0 1rem;line-height:1.5}</style></head>\n<body>\n"
        + sanitise(body)
        + "\n</body></html>\n"
    )
