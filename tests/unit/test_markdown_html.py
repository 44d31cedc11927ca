"""Free Markdown from a model becomes safe HTML: nothing it writes can run on the page."""

from __future__ import annotations

from collections.abc import Callable
from html.parser import HTMLParser

import pytest

from api.markdown_html import fragment_html, sanitise
from api.render import markdown_to_html

HOSTILE = """# Plan

<script>alert("raw")</script>

<img src=x onerror="alert('img')">

[click](javascript:alert(1)) and [data](data:text/html;base64,PHNjcmlwdD4=)

[quoted](https://example.org/a"><img src=x onerror=alert(2)>)

[break out](https://example.org/"onmouseover="alert(3))

<a href="https://example.org" onclick="alert(4)">raw anchor</a>
"""


class _Elements(HTMLParser):
    """Every element a browser would build from the HTML, and the text it would show."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text = ""
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text += data


PAGE_TAGS = {"html", "head", "meta", "title", "style", "body", "section", "ol", "li", "strong"}


@pytest.mark.parametrize(
    "render",
    [fragment_html, lambda md: markdown_to_html(md, title="t", sources=[{"number": 1}])],
    ids=["fragment", "page"],
)
def test_hostile_markdown_renders_to_inert_html(render: Callable[[str], str]) -> None:
    parsed = _Elements(render(HOSTILE))
    tags = {tag for tag, _ in parsed.elements}
    # Raw HTML in the text is shown as text, never parsed: no script, no img, only our tags.
    assert tags <= {"a", "p", "h1", "h2", "br", *PAGE_TAGS}, tags
    assert '<script>alert("raw")</script>' in parsed.text
    assert "<img src=x onerror=" in parsed.text
    # No event handler on any element, quotes in an address included.
    handlers = [(t, a) for t, attrs in parsed.elements for a in attrs if a.startswith("on")]
    assert handlers == []
    # Links only to http(s), mailto or our own anchors; javascript: and data: stay text.
    hrefs = [attrs["href"] or "" for tag, attrs in parsed.elements if tag == "a"]
    assert hrefs and all(h.startswith(("https://", "http://", "mailto:", "#")) for h in hrefs)
    assert "[click](javascript:alert(1))" in parsed.text
    rels = {attrs.get("rel") for tag, attrs in parsed.elements if tag == "a"}
    assert rels == {"noopener noreferrer"}


def test_links_get_rel_and_a_new_tab_on_the_page() -> None:
    out = fragment_html("[docs](https://example.org/x?a=1&b=2) and mailto:me@example.org")
    assert (
        '<a href="https://example.org/x?a=1&amp;b=2" target="_blank" '
        'rel="noopener noreferrer">docs</a>' in out
    )
    assert 'href="mailto:me@example.org"' in out


def test_citations_become_buttons_the_page_can_click() -> None:
    out = fragment_html("Batteries [2][1]. See [the data](https://example.org/t[3]) and `[4]`.")
    button = (
        '<button type="button" class="cite" data-cite="{0}" title="Show source {0}">[{0}]</button>'
    )
    assert f"Batteries {button.format(2)}{button.format(1)}." in out
    # Not inside a link's address or text, nor in code.
    assert 'data-cite="3"' not in out and 'data-cite="4"' not in out
    assert "<code>[4]</code>" in out


def test_page_headings_sit_below_the_pages_own_h1() -> None:
    out = fragment_html("# Title\n\n###### Deep\n\ntext")
    assert "<h2>Title</h2>" in out and "<h6>Deep</h6>" in out and "<h1>" not in out


def test_a_citation_inside_link_text_stays_text() -> None:
    out = fragment_html("[see [1]](https://example.org)")
    assert "data-cite" not in out
    assert ">see [1]</a>" in out


def test_the_sanitiser_holds_even_if_the_renderer_let_markup_through() -> None:
    dirty = (
        '<p onclick="x()">hi<script>alert(1)</script><a href="javascript:alert(1)">j</a>'
        '<a href="/runs/1">rel</a><button onclick="x()" data-cite="1" class="cite">[1]</button>'
        '<iframe src="https://evil.example"></iframe></p>'
    )
    assert sanitise(dirty) == (
        '<p>hi<a rel="noopener noreferrer">j</a><a href="/runs/1" rel="noopener noreferrer">rel</a>'
        '<button data-cite="1" class="cite">[1]</button></p>'
    )
