"""Report formats: sections and citations for JSON, linked citations and passages for HTML."""

from __future__ import annotations

from api.render import citation_numbers, markdown_sections, markdown_to_html, report_citations

REPORT = """# Grid storage

Batteries shift solar power into the evening [2][1].

## Costs

Costs fell sharply [1]. See [the data](https://example.org/t[3]) and [9].

## Sources

[1] Lithium-ion batteries — local://batteries.md
[2] Pumped hydro — local://pumped_hydro.md
"""

SOURCES = [
    {
        "number": 1,
        "source_id": "batteries.md",
        "title": "Lithium-ion <batteries>",
        "url": "https://example.org/batteries",
        "passages": [
            {"id": "p1", "text": "Battery cost fell sharply.", "cited": True},
            {"id": "p2", "text": "Unused passage.", "cited": False},
        ],
    },
    {
        "number": 2,
        "source_id": "pumped_hydro.md",
        "title": "Pumped hydro",
        "url": "local://pumped_hydro.md",
        "passages": [{"id": "p1", "text": "Water moves uphill.", "cited": True}],
    },
]


def test_sections_know_their_citations() -> None:
    sections = markdown_sections(REPORT)
    assert [(s.title, s.citations) for s in sections] == [
        ("Grid storage", [2, 1]),
        ("Costs", [1, 3, 9]),
        ("Sources", [1, 2]),
    ]
    assert citation_numbers("a [1] b [1] c [12]") == [1, 12]


def test_citations_resolve_to_sources_and_cited_passages() -> None:
    citations = report_citations(markdown_sections(REPORT), SOURCES)
    assert [c.number for c in citations] == [1, 2, 3, 9]  # the source list itself is no citation
    first = citations[0]
    assert (first.source_id, first.title, first.url) == (
        "batteries.md",
        "Lithium-ion <batteries>",
        "https://example.org/batteries",
    )
    assert first.sections == ["Grid storage", "Costs"]
    assert [(p.id, p.text) for p in first.passages] == [("p1", "Battery cost fell sharply.")]
    unknown = citations[-1]
    assert unknown.number == 9 and unknown.source_id is None and unknown.passages == []


def test_html_links_citations_to_sources_with_their_passages() -> None:
    page = markdown_to_html(REPORT, title="q", sources=SOURCES)
    two, one = (
        f'<a class="cite" href="#source-{n}" rel="noopener noreferrer">[{n}]</a>' for n in (2, 1)
    )
    assert f"evening {two}{one}." in page
    assert '<li id="source-1" value="1"><strong>Lithium-ion &lt;batteries&gt;</strong>' in page
    assert "<blockquote>Battery cost fell sharply.</blockquote>" in page
    assert "Unused passage" not in page
    # No anchor for a number without a source, and none inside a link's address.
    assert "[9]" in page and 'href="#source-9"' not in page
    assert 'href="https://example.org/t%5B3%5D" rel="noopener noreferrer">the data</a>' in page
    # The report's own plain source list is replaced by the linked one, not repeated.
    assert page.count("<h2>Sources</h2>") == 1 and "local://batteries.md" not in page


def test_html_without_sources_keeps_the_report_as_written() -> None:
    page = markdown_to_html(REPORT, title="q")
    assert 'class="cite"' not in page and "<h2>Sources</h2>" in page
    assert "[1] Lithium-ion batteries" in page
