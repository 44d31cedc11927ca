"""From the model's claims draft to a checked ReportDoc: the model proposes, the code checks.

Every model claim must cite a source the run read and a passage of it, quote that passage, and
be one readable sentence; what fails is kept in `removed` with the reason. Every plan item the
model left without a claim gets the extractive floor (activities/extractive.py). Pure: no I/O.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from activities.claim_checks import (
    CLAIM_DEBRIS,
    clean_heading,
    heading_from,
    quote_problem,
    sentence_problem,
    shares_words,
    strip_marks,
)
from activities.claims_writer import Material, plan_list
from activities.drafts import ReportDraft, SectionDraft
from activities.extractive import Sentence, Target, extract_claims, sentences
from activities.words import content_stems
from domain.calls import ReportRequest
from domain.report import Claim, Evidence, ReportDoc, ReportSection

log = logging.getLogger(__name__)

NOTICE_EXTRACTIVE = (
    "The model's own sentences did not pass the checks; every sentence below is quoted from "
    "the sources it cites."
)
NOTICE_EMPTY = "No sentence in the sources read could be quoted for this question."


@dataclass
class DraftChecks:
    """The model's claims that passed, by plan item (None: no item), and those that did not."""

    kept: dict[int | None, list[Claim]] = field(default_factory=dict)
    headings: dict[int | None, str] = field(default_factory=dict)
    removed: list[Claim] = field(default_factory=list)
    citations_dropped: int = 0


def _item_of(section: SectionDraft, items: list[str]) -> int | None:
    """The section's plan item: the model's number when valid, else the item it shares most
    words with (none shared: no item)."""
    if 1 <= section.plan_item <= len(items):
        return section.plan_item
    words = content_stems(section.heading + " " + " ".join(c.text for c in section.claims))
    overlaps = [len(words & content_stems(item)) for item in items]
    if overlaps and max(overlaps) > 0:
        return overlaps.index(max(overlaps)) + 1
    return None


def check_draft(draft: ReportDraft, req: ReportRequest, material: Material) -> DraftChecks:
    """Sort the model's claims into kept (by plan item) and removed, each removal with why."""
    items, numbers = plan_list(req.plan), {s.number for s in req.sources}
    checked, seen = DraftChecks(), set[str]()
    for section in draft.sections:
        item = _item_of(section, items) if items else None
        for raw in section.claims:
            evidence = Evidence(
                source=raw.source, passage_id=raw.passage_id.strip(), quote=raw.quote.strip()
            )
            claim = Claim(id="", text=strip_marks(raw.text), evidence=[evidence], plan_item=item)
            reason = None
            if raw.source not in numbers:
                reason = f"cites source [{raw.source}], which the run did not read"
                checked.citations_dropped += 1
            if reason is None:
                reason = sentence_problem(claim.text)
            if reason is None and material.has_passages:
                passage = material.passages.get(raw.source, {}).get(evidence.passage_id)
                reason, (evidence.start, evidence.end) = quote_problem(evidence.quote, passage)
                if reason is None and passage is not None:
                    # Stored as the passage has it, so a reader's click shows the exact text.
                    evidence.quote = passage[evidence.start : evidence.end]
            if reason is None and claim.text.lower() in seen:
                reason = "repeats an earlier claim"
            if reason is not None:
                log.info("claim dropped (%s): %s", reason, claim.text[:120])
                checked.removed.append(
                    claim.model_copy(update={"support": "refused", "reason": reason})
                )
                continue
            seen.add(claim.text.lower())
            checked.kept.setdefault(item, []).append(claim)
            checked.headings.setdefault(item, section.heading)
    return checked


def _pool(req: ReportRequest, material: Material) -> list[Sentence]:
    """What the floor may quote: the passages' sentences or, without passages, the notes."""
    if material.has_passages:
        pool: list[Sentence] = []
        for number, texts in sorted(material.passages.items()):
            for pid, text in texts.items():
                bonus = 1.0 if (number, pid) in material.cited else 0.0
                bonus += 0.5 if number in material.noted else 0.0
                pool += sentences(number, pid, text, bonus)
        return pool
    # An older workflow sent no passages: the notes, already checked against their passages
    # by take_notes, stand in for them (without a quote; the support check judges them).
    numbers = {s.source_id: s.number for s in req.sources}
    return [
        Sentence(numbers[n.source_id], (n.passage_ids or ["p1"])[0], -1, -1,
                 " ".join(n.text.split()), "", frozenset(content_stems(n.text)), 0.0)
        for n in req.notes
        if n.source_id in numbers and sentence_problem(" ".join(n.text.split())) is None
    ]  # fmt: skip


def build_report(
    req: ReportRequest, draft: ReportDraft, material: Material
) -> tuple[ReportDoc, DraftChecks]:
    """The checked report: the model's surviving claims, the floor for every item left bare."""
    items = plan_list(req.plan)
    checked = check_draft(draft, req, material)
    targets = [Target(n, item) for n, item in enumerate(items, 1)] or [Target(None, req.question)]
    bare = [t for t in targets if not checked.kept.get(t.plan_item)]
    taken = {c.text.lower() for claims in checked.kept.values() for c in claims}
    floor = extract_claims(bare, _pool(req, material), req.question, taken)
    if not material.has_passages:
        for claims in floor.values():
            for claim in claims:
                claim.origin = "model"
    sections = []
    for target in targets:
        claims = checked.kept.get(target.plan_item) or floor.get(target.plan_item, [])
        heading = clean_heading(checked.headings.get(target.plan_item, ""), target.text)
        sections.append(ReportSection(heading=heading, plan_item=target.plan_item, claims=claims))
    if items and checked.kept.get(None):  # model claims on no plan item, kept last
        heading = clean_heading(checked.headings[None], "Other findings")
        sections.append(ReportSection(heading=heading, claims=checked.kept[None]))
    for s_no, section in enumerate(sections, 1):
        for c_no, claim in enumerate(section.claims, 1):
            claim.id = f"s{s_no}c{c_no}"
    doc = ReportDoc(
        question=req.question,
        title=_title(draft.title, req.question),
        revision=req.revision,
        partial=req.partial,
        lead=_lead(draft.lead, req.question),
        plan_items=items,
        sections=sections,
        removed=checked.removed,
        sources=req.sources,
    )
    claims = list(doc.claims())
    if not claims:
        doc.notice = NOTICE_EMPTY
    elif all(c.origin == "extract" for c in claims):
        doc.notice = NOTICE_EXTRACTIVE
    return doc, checked


def _title(title: str, question: str) -> str:
    """The model's title unless it is debris or numbers; then the question."""
    title = strip_marks(title).strip(" #")
    if not re.search(r"[A-Za-z]{2}", title) or CLAIM_DEBRIS.search(title):
        return heading_from(question)
    return title


def _lead(lead: str, question: str) -> str:
    """The model's lead, only when it is a sentence about the question."""
    lead = strip_marks(lead)
    if sentence_problem(lead) is None and shares_words(lead, question):
        return lead
    return ""
