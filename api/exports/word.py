"""A report as DOCX (Word, LibreOffice), with python-docx: headings, claims with linked [n],
sources with clickable URLs.

python-docx has no call for links, so they are written as WordprocessingML: a citation is an
internal hyperlink (`w:anchor`) to a bookmark on its source's entry, a URL an external one
through a relationship. Only http(s) URLs become links. The text is untrusted; python-docx
escapes it, and characters XML cannot hold are removed first (document.clean). Word picks fonts
on the reader's machine, so any Unicode the text has is kept.
"""

from __future__ import annotations

import io

from docx import Document
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.text.paragraph import Paragraph

from api.exports.document import PARTIAL_NOTICE, clean, display_title, listed_sources, web_url
from domain.report import ReportDoc

LINK_COLOUR = "1A4F9C"


def bookmark_name(number: int) -> str:
    """The bookmark on source `number`'s entry, the anchor its citations link to."""
    return f"source_{number}"  # word characters only: Word drops bookmarks named otherwise


def _link_run(text: str) -> OxmlElement:
    run = OxmlElement("w:r")
    props = OxmlElement("w:rPr")
    colour = OxmlElement("w:color")
    colour.set(qn("w:val"), LINK_COLOUR)
    underline = OxmlElement("w:u")
    underline.set(qn("w:val"), "single")
    props.append(colour)
    props.append(underline)
    run.append(props)
    t = OxmlElement("w:t")
    t.text = text
    t.set(qn("xml:space"), "preserve")
    run.append(t)
    return run


def add_link(paragraph: Paragraph, text: str, *, anchor: str = "", url: str = "") -> None:
    """A hyperlink at the end of `paragraph`: to a bookmark (`anchor`) or a web `url`."""
    link = OxmlElement("w:hyperlink")
    if anchor:
        link.set(qn("w:anchor"), anchor)
    else:
        rel = paragraph.part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
        link.set(qn("r:id"), rel)
    link.append(_link_run(text))
    paragraph._p.append(link)


def add_bookmark(paragraph: Paragraph, name: str, bookmark_id: int) -> None:
    """A bookmark around nothing at the start of `paragraph`, a target for internal links."""
    start = OxmlElement("w:bookmarkStart")
    start.set(qn("w:id"), str(bookmark_id))
    start.set(qn("w:name"), name)
    end = OxmlElement("w:bookmarkEnd")
    end.set(qn("w:id"), str(bookmark_id))
    paragraph._p.insert(0, end)
    paragraph._p.insert(0, start)


def report_docx(doc: ReportDoc) -> bytes:
    """The report as a .docx document (bytes)."""
    word = Document()
    word.core_properties.title = clean(display_title(doc))
    word.core_properties.subject = clean(doc.question)
    word.add_heading(clean(display_title(doc)), level=0)
    for notice in ([PARTIAL_NOTICE] if doc.partial else []) + ([doc.notice] if doc.notice else []):
        word.add_paragraph().add_run(clean(notice)).italic = True
    if doc.lead:
        word.add_paragraph(clean(doc.lead))
    for section in doc.sections:
        if not section.claims:
            continue
        word.add_heading(clean(section.heading.strip() or "Findings"), level=1)
        for claim in section.claims:
            paragraph = word.add_paragraph(clean(claim.text.strip()), style="List Bullet")
            for n in claim.citations():
                paragraph.add_run(" ")
                add_link(paragraph, f"[{n}]", anchor=bookmark_name(n))
    listed = listed_sources(doc)
    if listed:
        word.add_heading("Sources", level=1)
        for i, source in enumerate(listed):
            paragraph = word.add_paragraph(f"[{source.number}] ")
            add_bookmark(paragraph, bookmark_name(source.number), i)
            paragraph.add_run(clean(source.title or "untitled")).bold = True
            link = web_url(source.url)
            if link:
                paragraph.add_run(" — ")
                add_link(paragraph, clean(link), url=clean(link))
            elif source.url:
                paragraph.add_run(f" — {clean(source.url)}")
    out = io.BytesIO()
    word.save(out)
    return out.getvalue()
