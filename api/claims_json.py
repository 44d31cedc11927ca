"""A report written as claims (domain/report.py `ReportDoc`) in the API's JSON shape.

Everything here comes from the structure the writer saved and the support check marked; no
Markdown is parsed. The fields an older client reads (`markdown`, `html`, `sections`,
`citations`, `sources`) keep their meaning, so a client built for Markdown-only reports still
works, and the claims, their evidence and their support come alongside.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import PurePosixPath
from typing import Any

from pydantic import ValidationError

from api.claims_html import claims_fragment_html
from api.render import numbered_sources
from api.report_schemas import (
    Citation,
    CitedPassage,
    ClaimCounts,
    ReportClaim,
    ReportJson,
    ReportSection,
)
from domain.report import Claim, ReportDoc, passage_texts
from domain.run import RunView
from providers.artifacts import ArtifactStore

log = logging.getLogger(__name__)

SOURCES_HEADING = "Sources"


def report_claim(claim: Claim, section: str) -> ReportClaim:
    return ReportClaim(
        id=claim.id,
        text=claim.text,
        section=section,
        plan_item=claim.plan_item,
        origin=claim.origin,
        citations=claim.citations(),
        evidence=claim.evidence,
        support=claim.support,
        score=claim.score,
        reason=claim.reason,
    )


def cited_passages(doc: ReportDoc) -> dict[int, list[str]]:
    """{source number: passage ids} that the kept claims' evidence cites, in first-cited order."""
    found: dict[int, list[str]] = {}
    for claim in doc.claims():
        for evidence in claim.evidence:
            ids = found.setdefault(evidence.source, [])
            if evidence.passage_id not in ids:
                ids.append(evidence.passage_id)
    return found


def claim_counts(doc: ReportDoc) -> ClaimCounts:
    kept = list(doc.claims())
    return ClaimCounts(
        claims=len(kept),
        supported=sum(c.support == "supported" for c in kept),
        removed=len(doc.removed),
        cited_passages=sum(len(ids) for ids in cited_passages(doc).values()),
    )


def _claim_line(claim: Claim) -> str:
    marks = "".join(f"[{n}]" for n in claim.citations())
    return f"- {claim.text.strip()} {marks}".rstrip()


def doc_sections(doc: ReportDoc) -> list[ReportSection]:
    """The sections as `markdown_sections` gives them for Markdown: the title (with the notice
    and lead), each section with its claims, then the list of cited sources."""
    intro = "\n\n".join(t for t in (doc.notice and f"> {doc.notice}", doc.lead) if t)
    title = f"{'(Partial) ' if doc.partial else ''}{doc.title.strip() or 'Report'}"
    sections = [ReportSection(title=title, level=1, content=intro)]
    for section in doc.sections:
        if not section.claims:
            continue
        sections.append(
            ReportSection(
                title=section.heading.strip() or "Findings",
                level=2,
                content="\n".join(_claim_line(c) for c in section.claims),
                citations=list(dict.fromkeys(n for c in section.claims for n in c.citations())),
                claim_ids=[c.id for c in section.claims],
            )
        )
    cited = doc.cited_numbers()
    if cited:
        by_number = {s.number: s for s in doc.sources}
        lines = [
            f"[{n}] {by_number[n].title} — {by_number[n].url}" if n in by_number else f"[{n}]"
            for n in cited
        ]
        sections.append(
            ReportSection(title=SOURCES_HEADING, level=2, content="\n".join(lines), citations=cited)
        )
    return sections


def doc_citations(doc: ReportDoc, sources: Any) -> list[Citation]:
    """Each source the kept claims cite, the sections citing it, and the passages their
    evidence names (text from sources.json; the report's own source list when it is missing)."""
    by_number = numbered_sources(sources)
    listed = {s.number: s for s in doc.sources}
    texts = passage_texts(sources)
    in_sections: dict[int, list[str]] = {}
    for section in doc.sections:
        for claim in section.claims:
            for number in claim.citations():
                in_sections.setdefault(number, []).append(section.heading.strip() or "Findings")
    citations = []
    for number, passage_ids in sorted(cited_passages(doc).items()):
        source = by_number.get(number, {})
        fallback = listed.get(number)
        citations.append(
            Citation(
                number=number,
                source_id=source.get("source_id") or (fallback and fallback.source_id),
                title=source.get("title") or (fallback and fallback.title),
                url=source.get("url") or (fallback and fallback.url),
                sections=list(dict.fromkeys(in_sections.get(number, []))),
                passages=[
                    CitedPassage(id=pid, text=texts.get(number, {}).get(pid, ""))
                    for pid in passage_ids
                ],
            )
        )
    return citations


def report_json_from_doc(
    view: RunView, doc: ReportDoc, markdown: str | None, sources: Any
) -> ReportJson:
    """The JSON body for `format=json`; `markdown` is the run's saved rendering, if it has one."""
    return ReportJson(
        run_id=view.run_id,
        status=view.status,
        finish_reason=view.finish_reason,
        markdown=markdown if markdown is not None else doc.to_markdown(),
        html=claims_fragment_html(doc),
        sections=doc_sections(doc),
        citations=doc_citations(doc, sources),
        sources=sources,
        structured=True,
        title=doc.title,
        lead=doc.lead,
        notice=doc.notice,
        partial=doc.partial,
        checked=doc.checked,
        plan_items=doc.plan_items,
        plan_items_uncovered=doc.uncovered_plan_items() if doc.checked else [],
        claims=[report_claim(c, s.heading) for s in doc.sections for c in s.claims],
        removed=[report_claim(c, "") for c in doc.removed],
        counts=claim_counts(doc),
    )


async def pending_claims_html(artifacts: ArtifactStore, view: RunView) -> str | None:
    """The report under review as claims (for `pending_html`), when its revision's report JSON
    is the run's `report_json_ref`; None otherwise, and the page shows its Markdown as before."""
    pending, json_ref = view.pending, view.report_json_ref
    if pending is None or pending.kind != "report" or not json_ref or not pending.artifact_ref:
        return None
    # Only the JSON of the very revision under review: report-r1.md goes with report-r1.json.
    if str(PurePosixPath(pending.artifact_ref).with_suffix(".json")) != json_ref:
        return None
    try:
        raw = await asyncio.to_thread(artifacts.read_json, json_ref)
        return claims_fragment_html(ReportDoc.model_validate(raw))
    except (OSError, ValueError, ValidationError) as err:
        log.warning("report %s under review is unreadable as claims: %s", json_ref, err)
        return None
