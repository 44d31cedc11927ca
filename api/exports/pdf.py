"""A report as PDF, with reportlab's Platypus: headings, claims with linked [n], sources.

Font: Open Sans from the PyPI package ttf-opensans (Apache-2.0), embedded and subset. It covers
Latin with its accents (Karikó, ő, ű), Greek, Cyrillic and the common symbols (≥, ≤, €, …);
reportlab's own Vera fonts stop at Latin-1. A character outside Open Sans is drawn from the
standard Symbol font when that has it (arrows, more mathematics), else shown as "?" so a page
never carries an invisible gap.

Every string is untrusted (model output and quotes of fetched pages) and Platypus paragraphs are
a markup language: each is escaped before it is put into markup, and only http(s) URLs become
links (no javascript:, no file paths).
"""

from __future__ import annotations

import io
from functools import cache
from xml.sax.saxutils import escape, quoteattr

from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.rl_codecs import RL_Codecs
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, ListFlowable, ListItem, Paragraph, SimpleDocTemplate
from ttf_opensans import OPENSANS_BOLD, OPENSANS_BOLDITALIC, OPENSANS_ITALIC, OPENSANS_REGULAR

from api.exports.document import PARTIAL_NOTICE, clean, display_title, listed_sources, web_url
from domain.report import Claim, ReportDoc

FONT = "OpenSans"
LINK = HexColor("#1a4f9c")


@cache
def _symbol_chars() -> frozenset[str]:
    """What the standard Symbol font can draw: what reportlab's `symbol` codec encodes."""
    RL_Codecs.register()
    found = set()
    for code in range(0x370, 0x2700):
        try:
            chr(code).encode("symbol")
        except UnicodeEncodeError:
            continue
        found.add(chr(code))
    return frozenset(found)


@cache
def _font_chars() -> frozenset[int]:
    """Register Open Sans once per process; the code points it can draw."""
    faces = {
        FONT: OPENSANS_REGULAR,
        f"{FONT}-Bold": OPENSANS_BOLD,
        f"{FONT}-Italic": OPENSANS_ITALIC,
        f"{FONT}-BoldItalic": OPENSANS_BOLDITALIC,
    }
    for name, face in faces.items():
        pdfmetrics.registerFont(TTFont(name, str(face.path)))
    pdfmetrics.registerFontFamily(
        FONT,
        normal=FONT,
        bold=f"{FONT}-Bold",
        italic=f"{FONT}-Italic",
        boldItalic=f"{FONT}-BoldItalic",
    )
    regular = pdfmetrics.getFont(FONT)
    return frozenset(regular.face.charToGlyph)


def markup(text: str) -> str:
    """Untrusted text as Platypus markup: escaped, every character drawable."""
    chars = _font_chars()
    out = []
    for ch in escape(clean(text)):
        if ord(ch) in chars or ch in "\n\t":
            out.append(ch)
        elif ch in _symbol_chars():
            out.append(f'<font name="Symbol">{ch}</font>')
        else:
            out.append("?")
    return "".join(out)


def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=base["BodyText"], fontName=FONT, fontSize=10.5, leading=15)
    return {
        "title": ParagraphStyle("title", parent=base["Title"], fontName=f"{FONT}-Bold"),
        "h2": ParagraphStyle("h2", parent=base["Heading2"], fontName=f"{FONT}-Bold"),
        "body": body,
        "notice": ParagraphStyle("notice", parent=body, fontName=f"{FONT}-Italic", leftIndent=8),
        "source": ParagraphStyle("source", parent=body, leftIndent=18, firstLineIndent=-18),
    }


def _claim(claim: Claim) -> str:
    marks = "".join(
        f'<a href="#source-{n}" color="{LINK.hexval()}">[{n}]</a>' for n in claim.citations()
    )
    return f"{markup(claim.text.strip())} {marks}".rstrip()


def _source_line(number: int, title: str, url: str) -> str:
    line = f'<a name="source-{number}"/>[{number}] <b>{markup(title or "untitled")}</b>'
    link = web_url(url)
    if link:
        line += f' — <a href={quoteattr(clean(link))} color="{LINK.hexval()}">{markup(link)}</a>'
    elif url:
        line += f" — {markup(url)}"
    return line


def report_pdf(doc: ReportDoc) -> bytes:
    """The report as a PDF document (bytes)."""
    _font_chars()
    styles = _styles()
    story: list[Flowable] = [Paragraph(markup(display_title(doc)), styles["title"])]
    for notice in ([PARTIAL_NOTICE] if doc.partial else []) + ([doc.notice] if doc.notice else []):
        story.append(Paragraph(markup(notice), styles["notice"]))
    if doc.lead:
        story.append(Paragraph(markup(doc.lead), styles["body"]))
    for section in doc.sections:
        if not section.claims:
            continue
        story.append(Paragraph(markup(section.heading.strip() or "Findings"), styles["h2"]))
        items = [ListItem(Paragraph(_claim(c), styles["body"])) for c in section.claims]
        story.append(ListFlowable(items, bulletType="bullet", bulletFontName=FONT, leftIndent=14))
    listed = listed_sources(doc)
    if listed:
        story.append(Paragraph("Sources", styles["h2"]))
        for s in listed:
            story.append(Paragraph(_source_line(s.number, s.title, s.url), styles["source"]))
    out = io.BytesIO()
    template = SimpleDocTemplate(
        out,
        pagesize=A4,
        title=clean(display_title(doc)),
        subject=clean(doc.question),
        creator="research service",
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
    )
    template.build(story)
    return out.getvalue()
