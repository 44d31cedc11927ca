"""Documents that make parsers slow or large, built in memory for the hostile-input tests.

Each is small to build and send but expensive to extract with an unguarded parser (issue 13,
finding 3): a wide single-row table for trafilatura, a PDF whose pages share one big content
stream for pypdf.
"""

from __future__ import annotations

import io


def wide_table_html(cells: int) -> bytes:
    """A page whose body is one table row of `cells` cells (~40 bytes each): trafilatura's
    table handling is super-linear in the row's width."""
    row = "".join(f"<td>cell {i} with a few words</td>" for i in range(cells))
    return (
        "<html><head><title>Wide</title></head><body><article><p>Intro paragraph.</p>"
        f"<table><tr>{row}</tr></table></article></body></html>"
    ).encode()


def shared_stream_pdf(pages: int, stream_bytes: int) -> bytes:
    """A PDF of `pages` pages that all draw one content stream of about `stream_bytes` bytes:
    the file stays small while every page yields the whole stream's text."""
    from pypdf import PdfWriter
    from pypdf.generic import (
        ArrayObject,
        DecodedStreamObject,
        DictionaryObject,
        NameObject,
    )

    writer = PdfWriter()
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    font_ref = writer._add_object(font)
    line = b"BT /F1 10 Tf 20 700 Td (many words repeated on every page) Tj ET\n"
    stream = DecodedStreamObject()
    stream.set_data(line * max(1, stream_bytes // len(line)))
    stream_ref = writer._add_object(stream.flate_encode())  # compressed: the file stays small
    resources = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font_ref})}
    )
    for _ in range(pages):
        page = writer.add_blank_page(width=612, height=792)
        page[NameObject("/Resources")] = resources
        page[NameObject("/Contents")] = ArrayObject([stream_ref])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
