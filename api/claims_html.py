"""A report written as claims (domain/report.py) as HTML: for the run page, and standalone.

Every text here (claims, quotes, reasons, headings, titles) is model output or fetched web
text, so it is untrusted: each is escaped where it is put in, and the result still goes through
nh3 with an allow-list (the same link rules as api/markdown_html.py), so a slip here cannot
become markup that runs.

On the run page a citation is `<button class="cite" data-cite="n">` carrying the passage id and
the exact quote in data attributes; the page's one click handler (static/citations.js) shows
them, as no inline script may run. The standalone page runs no script at all (its CSP), so
there a citation is a `<details>` whose summary is the `[n]` and whose body is the quote.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import nh3

from api.markdown_html import LINK_REL, TAGS, URL_SCHEMES
from domain.report import Claim, Evidence, ReportDoc

CLAIM_TAGS = TAGS | {"details", "summary", "span"}
CLAIM_ATTRIBUTES = {
    "a": {"href", "class", "title"},
    "blockquote": {"class", "data-passage"},
    "button": {"type", "class", "title", "data-cite", "data-passage", "data-quote", "data-claim"},
    "details": {"class"},
    "li": {"id", "class", "value", "data-claim", "data-support"},
    "p": {"class"},
    "section": {"id", "class"},
    "span": {"class", "title"},
    "summary": {"class", "data-cite", "data-passage", "title"},
    "ul": {"class"},
}
SUPPORT_TEXT = {
    "supported": "supported",
    "unsupported": "unsupported",
    "struck": "struck",
    "refused": "refused by the writer",
    "unchecked": "not checked",
}
PARTIAL_NOTICE = "This run was stopped early; the report covers only what was read."
PAGE_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;"
    "line-height:1.5}details.cite{display:inline}details.cite summary{display:inline;"
    "cursor:pointer;color:#1a5fb4}.support{font-size:.8em;padding:0 .4em;border-radius:.3em;"
    "background:#eee}.support-supported{background:#d7f0dc}.support-unsupported,"
    ".support-struck,.support-refused{background:#f6d5d5}"
)


def esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def clean(markup: str) -> str:
    return nh3.clean(
        markup,
        tags=CLAIM_TAGS,
        attributes=CLAIM_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel=LINK_REL,
        strip_comments=True,
    )


def counts_line(doc: ReportDoc) -> str:
    """ "N claims, M supported, K removed": what a reviewer sees first."""
    kept = list(doc.claims())
    supported = sum(c.support == "supported" for c in kept)
    n = len(kept)
    return f"{n} claim{'' if n == 1 else 's'}, {supported} supported, {len(doc.removed)} removed"


def cite_button(claim: Claim, evidence: Evidence) -> str:
    where = f"source {evidence.source}, passage {evidence.passage_id}"
    return (
        f'<button type="button" class="cite" data-cite="{evidence.source}" '
        f'data-passage="{esc(evidence.passage_id)}" data-quote="{esc(evidence.quote)}" '
        f'data-claim="{esc(claim.id)}" title="Show the quote ({esc(where)})">'
        f"[{evidence.source}]</button>"
    )


def cite_details(claim: Claim, evidence: Evidence) -> str:
    quote = evidence.quote or "(no quote recorded)"
    return (
        f'<details class="cite"><summary data-cite="{evidence.source}" '
        f'data-passage="{esc(evidence.passage_id)}">[{evidence.source}]</summary>'
        f'<blockquote class="quote" data-passage="{esc(evidence.passage_id)}">{esc(quote)}'
        f'</blockquote><a href="#source-{evidence.source}">source {evidence.source}, '
        f"passage {esc(evidence.passage_id)}</a></details>"
    )


def claim_item(claim: Claim, cite: Callable[[Claim, Evidence], str]) -> str:
    support = SUPPORT_TEXT.get(claim.support, claim.support)
    score = f"support score {claim.score:.2f}" + (f": {claim.reason}" if claim.reason else "")
    parts = [
        f'<li class="claim" id="claim-{esc(claim.id)}" data-claim="{esc(claim.id)}" '
        f'data-support="{esc(claim.support)}"><span class="claim-text">{esc(claim.text)}</span> ',
        "".join(cite(claim, e) for e in claim.evidence),
        f' <span class="support support-{esc(claim.support)}" title="{esc(score)}">'
        f"{esc(support)}</span>",
    ]
    if claim.reason and claim.support != "supported":
        parts.append(f' <span class="reason">{esc(claim.reason)}</span>')
    return "".join(parts) + "</li>"


def claims_body(doc: ReportDoc, cite: Callable[[Claim, Evidence], str], *, top: int) -> str:
    """The report's title, notice, lead, counts, sections of claims and removed claims, with
    headings from h`top` down."""
    title = f"{'(Partial) ' if doc.partial else ''}{doc.title.strip() or 'Report'}"
    out = [f"<h{top}>{esc(title)}</h{top}>"]
    if doc.partial:
        out.append(f'<p class="notice">{PARTIAL_NOTICE}</p>')
    if doc.notice:
        out.append(f'<p class="notice">{esc(doc.notice)}</p>')
    if doc.lead:
        out.append(f'<p class="lead">{esc(doc.lead)}</p>')
    out.append(f'<p class="claim-counts">{esc(counts_line(doc))}</p>')
    for section in doc.sections:
        if not section.claims:
            continue
        out.append(f'<section class="report-section"><h{top + 1}>')
        out.append(f"{esc(section.heading.strip() or 'Findings')}</h{top + 1}>")
        out.append('<ul class="claims">')
        out += [claim_item(claim, cite) for claim in section.claims]
        out.append("</ul></section>")
    if doc.removed:
        n = len(doc.removed)
        summary = f"{n} claim{'' if n == 1 else 's'} removed"
        out.append(f'<details class="removed"><summary>{summary}</summary><ul class="claims">')
        out += [claim_item(claim, cite) for claim in doc.removed]
        out.append("</ul></details>")
    return "\n".join(out)


def claims_fragment_html(doc: ReportDoc) -> str:
    """The report for the run page (the JSON's `html`): headings from h2, citations as buttons."""
    return clean(claims_body(doc, cite_button, top=2))


def _passage_list(source: dict[str, Any], passage_ids: list[str]) -> list[str]:
    passages = [p for p in source.get("passages") or [] if isinstance(p, dict)]
    texts = {str(p.get("id")): str(p.get("text", "")) for p in passages}
    return [
        f'<blockquote data-passage="{esc(pid)}">{esc(texts.get(pid, ""))}</blockquote>'
        for pid in passage_ids
        if texts.get(pid)
    ]


def claims_page_html(
    doc: ReportDoc, title: str, sources: dict[int, dict[str, Any]], cited: dict[int, list[str]]
) -> str:
    """The standalone page (`format=html`): claims, each `[n]` opening its quote, and the cited
    sources with the passages the claims' evidence names."""
    body = [claims_body(doc, cite_details, top=1)]
    listed = {s.number: s.model_dump() for s in doc.sources}
    if cited:
        body += ['<section id="sources">', "<h2>Sources</h2>", "<ol>"]
        for number, passage_ids in sorted(cited.items()):
            source = sources.get(number) or listed.get(number) or {}
            name = esc(source.get("title") or source.get("source_id") or "untitled")
            url = str(source.get("url") or "")
            # Only web addresses become links; a local document's path is left out.
            link = (
                f'<a href="{esc(url)}">{esc(url)}</a>'
                if url.startswith(("http://", "https://"))
                else ""
            )
            body.append(f'<li id="source-{number}" value="{number}"><strong>{name}</strong> {link}')
            body += _passage_list(source, passage_ids)
            body.append("</li>")
        body += ["</ol>", "</section>"]
    return (
        '<!doctype html>\n<html><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title><style>{PAGE_STYLE}</style></head>\n<body>\n"
        + clean("\n".join(body))
        + "\n</body></html>\n"
    )
