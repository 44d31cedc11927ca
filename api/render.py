"""Just enough Markdown for a report: sections for JSON, and a plain HTML page.

The report is LLM output and may quote fetched web pages, so it is untrusted: every character is
escaped before the few inline forms we support are turned into tags.
"""

from __future__ import annotations

import html
import re

from api.schemas import ReportSection

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s*[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\d+[.)]\s+(.*)$")
# Applied to already-escaped text, so `&`, `<`, `"` cannot appear raw in the URL or the label.
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^\s)]+)\)")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_CODE = re.compile(r"`([^`\n]+)`")


def markdown_sections(markdown: str) -> list[ReportSection]:
    """Split on headings; text before the first heading becomes an untitled level-0 section."""
    sections: list[ReportSection] = []
    title, level = "", 0
    lines: list[str] = []
    for line in markdown.splitlines():
        if m := _HEADING.match(line):
            if title or any(s.strip() for s in lines):
                sections.append(ReportSection(title=title, level=level, content=_join(lines)))
            title, level, lines = m.group(2), len(m.group(1)), []
        else:
            lines.append(line)
    if title or any(s.strip() for s in lines):
        sections.append(ReportSection(title=title, level=level, content=_join(lines)))
    return sections


def _join(lines: list[str]) -> str:
    return "\n".join(lines).strip()


def _inline(text: str) -> str:
    out = html.escape(text, quote=True)
    out = _CODE.sub(r"<code>\1</code>", out)
    out = _BOLD.sub(r"<strong>\1</strong>", out)
    return _LINK.sub(r'<a href="\2" rel="noopener noreferrer">\1</a>', out)


def markdown_to_html(markdown: str, title: str) -> str:
    body: list[str] = []
    paragraph: list[str] = []
    list_tag: str | None = None

    def flush() -> None:
        nonlocal list_tag
        if paragraph:
            body.append("<p>" + "<br>\n".join(_inline(p) for p in paragraph) + "</p>")
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
            body.append(f"<h{n}>{_inline(heading.group(2))}</h{n}>")
        elif item:
            tag = "ul" if item.re is _BULLET else "ol"
            if paragraph or list_tag != tag:
                flush()
                body.append(f"<{tag}>")
                list_tag = tag
            body.append(f"<li>{_inline(item.group(1))}</li>")
        elif not line.strip():
            flush()
        else:
            if list_tag:
                flush()
            paragraph.append(line.strip())
    flush()
    return (
        '<!doctype html>\n<html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;"
        "padding:0 1rem;line-height:1.5}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
