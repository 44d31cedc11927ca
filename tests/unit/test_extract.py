"""Text extraction and passage splitting, without the index."""

from __future__ import annotations

from pathlib import Path

import pytest

from providers.extract import ExtractionError, extract, split_passages


def test_markdown_title_and_links() -> None:
    atx = extract(Path("notes.md"), b"Intro line\n\n## Battery basics ##\n\nText.")
    assert atx.title == "Battery basics"
    setext = extract(
        Path("x.md"), b"Battery basics\n==============\n\nSee [the guide](http://e.x/g)."
    )
    assert setext.title == "Battery basics"
    assert "See the guide." in setext.text
    assert "http://e.x/g" not in setext.text
    assert extract(Path("plain-notes.md"), b"no heading here").title == "plain-notes"


def test_html_structure_title_fallback_and_entities() -> None:
    html = (
        b"<body><h1>Heat &amp; cold</h1><p>First\n   paragraph</p><ul><li>one</li><li>two</li>"
        b"</ul><pre>a\n  b</pre><noscript>enable js</noscript></body>"
    )
    extracted = extract(Path("page.htm"), html)
    assert extracted.title == "Heat & cold"
    assert extracted.text == "Heat & cold\n\nFirst paragraph\n\none\ntwo\n\na\nb"
    assert "enable js" not in extracted.text


def test_text_decoding_is_forgiving() -> None:
    extracted = extract(Path("a.txt"), "\ufeffcafé \xff".encode() + b"\xff bytes\r\nline")
    assert extracted.title == "a"
    assert extracted.text.startswith("café")
    assert extracted.text.endswith("bytes\nline")


def test_unusable_files_raise_extraction_error() -> None:
    with pytest.raises(ExtractionError, match="unsupported"):
        extract(Path("a.docx"), b"x")
    with pytest.raises(ExtractionError, match="no extractable text"):
        extract(Path("a.md"), b"  \n\n ")
    with pytest.raises(ExtractionError, match="unreadable PDF"):
        extract(Path("a.pdf"), b"%PDF-1.4 garbage")


def test_split_passages_respects_paragraphs_and_headings() -> None:
    para = " ".join(["word"] * 80)
    text = "\n\n".join(["# Title", para, para, "## Next section", para, "x " * 500])
    passages = split_passages(text, max_words=200)
    assert passages[0] == "\n\n".join(["# Title", para, para])
    # The heading opens the passage it introduces instead of closing the previous one.
    assert passages[1] == "\n\n".join(["## Next section", para])
    # An oversized paragraph is cut into word windows.
    assert [len(p.split()) for p in passages[2:]] == [200, 200, 100]
    wall = split_passages("\n\n".join([para, para, "## Wall", "y " * 300]), max_words=200)
    assert wall[1].startswith("## Wall\n\ny y")
    assert [len(p.split()) for p in wall] == [160, 202, 100]
    assert split_passages(text, max_words=200) == passages
    assert split_passages("") == []
