"""Free Markdown (reports, plans) as safe HTML: markdown-it-py parses, nh3 sanitises.

The text is model output and may quote fetched web pages, so it is untrusted. markdown-it runs
with raw HTML disabled (a `<script>` in the text stays text), and nh3 then keeps only the tags
and attributes listed here, links only to http, https, mailto or relative addresses, and gives
every link rel="noopener noreferrer". Citations `[n]` become elements the page can click: a
`<button class="cite" data-cite="n">` that the page's one click handler opens, or, on the
standalone report page, an anchor to the source's entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

from domain.citations import CITATION

TAGS = {
    "a", "blockquote", "br", "button", "code", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "li", "ol", "p", "pre", "section", "strong", "ul",
}  # fmt: skip
ATTRIBUTES = {
    "a": {"href", "class", "title"},
    "button": {"type", "class", "data-cite", "title"},
    "code": {"class"},
    "li": {"id", "value"},
    "ol": {"start"},
    "section": {"id"},
}
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "noopener noreferrer"


def _citation_rule(state: StateInline, silent: bool) -> bool:
    # Runs after the link rule, so `[1](url)` stays a link; inside a link's text it is text.
    # Silent mode only measures link labels: declining there lets `[see [1]](url)` stay a link.
    if silent or state.linkLevel > 0 or state.src[state.pos] != "[":
        return False
    match = CITATION.match(state.src, state.pos)
    if not match:
        return False
    token = state.push("citation", "", 0)
    token.meta = {"number": int(match.group(1))}
    token.content = match.group(0)
    state.pos = match.end()
    return True


def _render_citation(
    renderer: RendererHTML,
    tokens: Sequence[Token],
    idx: int,
    options: OptionsDict,
    env: EnvType,
) -> str:
    number = tokens[idx].meta["number"]
    text = tokens[idx].content
    if env.get("cite") == "button":
        return (
            f'<button type="button" class="cite" data-cite="{number}" '
            f'title="Show source {number}">{text}</button>'
        )
    if number in env.get("cited", ()):
        return f'<a class="cite" href="#source-{number}">{text}</a>'
    return text  # no anchor for a number without a source entry: no dangling links


def _parser() -> MarkdownIt:
    # breaks: one line of the text stays one line on the page, as the model wrote it.
    md = MarkdownIt("commonmark", {"html": False, "linkify": True, "breaks": True})
    md.enable("linkify")
    md.inline.ruler.after("link", "citation", _citation_rule)
    md.add_render_rule("citation", _render_citation)
    return md


MD = _parser()


def parse(markdown: str) -> list[Token]:
    """The block tokens of `markdown` (headings carry their line span in `map`)."""
    return MD.parse(markdown, {})


def sanitise(html: str, *, new_tab: bool = False) -> str:
    """Keep only the allowed tags, attributes and link schemes."""
    return nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel=LINK_REL,
        set_tag_attribute_values={"a": {"target": "_blank"}} if new_tab else None,
        strip_comments=True,
    )


def render_tokens(tokens: list[Token], env: dict[str, Any]) -> str:
    """HTML of already parsed (and perhaps trimmed) tokens; not yet sanitised."""
    return MD.renderer.render(tokens, MD.options, env)


def fragment_html(markdown: str, *, heading_shift: int = 1) -> str:
    """Sanitised HTML for a part of a page: citations are buttons, links open a new tab.

    Headings move down `heading_shift` levels (at most h6): the page's own h1 is the question.
    """
    tokens = parse(markdown)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1]) + heading_shift, 6)}"
    return sanitise(render_tokens(tokens, {"cite": "button"}), new_tab=True)
