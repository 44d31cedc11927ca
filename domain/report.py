"""A report as claims: what the writer produces, the support check judges and every format shows.

`report.json` (and `report-r<revision>.json`) in a run's artifact folder is a `ReportDoc`.
Markdown is rendered from it here (`to_markdown`), HTML and the API's JSON from it in api/, and
nothing is ever parsed back out of Markdown. It sits at the bottom so the writer and checker
activities, the workflow, the API, the CLI and the benchmarks share one vocabulary.

A claim is one sentence and the evidence it rests on: a source number (the `[n]` of the run's
sources, numbered in reading order), a passage id within that source, and the quote from the
passage that backs the sentence. The support check sets `support`, `score` and `reason`;
unsupported and struck claims leave the sections for `removed`, reason kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, Field

from domain.sources import CitedSource

# "refused": a model sentence the writer's own checks turned away (no quote in its passage, a
# fragment) before the support check; never in the report, so not counted as unsupported.
Support = Literal["unchecked", "supported", "unsupported", "struck", "refused"]
# "model": a sentence the model wrote; "extract": a sentence quoted from a passage by our code
# (the floor a small model stands on, domain of activities/ writers).
ClaimOrigin = Literal["model", "extract"]


class Evidence(BaseModel):
    source: int = Field(description="The cited source's number: the n of [n]")
    passage_id: str = Field(description="The passage within that source, e.g. 'p3'")
    quote: str = Field(default="", description="Text from the passage that backs the claim")
    start: int = Field(default=-1, description="Where the quote starts in the passage; -1 unknown")
    end: int = Field(default=-1, description="Where the quote ends in the passage; -1 unknown")


class Claim(BaseModel):
    id: str = Field(description="Stable within a revision, e.g. 's2c1'")
    text: str = Field(description="One sentence, without citation marks")
    evidence: list[Evidence] = Field(default_factory=list)
    origin: ClaimOrigin = "model"
    plan_item: int | None = Field(default=None, description="1-based plan item it answers")
    support: Support = "unchecked"
    score: float = Field(default=0.0, description="Support score in [0, 1] from the check")
    reason: str = Field(default="", description="Why it is unsupported or struck")

    def citations(self) -> list[int]:
        return list(dict.fromkeys(e.source for e in self.evidence))


class ReportSection(BaseModel):
    heading: str
    plan_item: int | None = None
    claims: list[Claim] = Field(default_factory=list)


class ReportDoc(BaseModel):
    question: str
    title: str
    revision: int = 0
    partial: bool = False
    lead: str = Field(default="", description="The model's one-line lead, kept only if checked")
    notice: str = Field(default="", description="What the reader should know about how it was made")
    plan_items: list[str] = Field(default_factory=list)
    sections: list[ReportSection] = Field(default_factory=list)
    removed: list[Claim] = Field(default_factory=list, description="Unsupported or struck claims")
    sources: list[CitedSource] = Field(
        default_factory=list, description="Every source the run read, numbered as cited"
    )
    checked: bool = Field(default=False, description="True once the support check has run")

    def claims(self) -> Iterator[Claim]:
        for section in self.sections:
            yield from section.claims

    def cited_numbers(self) -> list[int]:
        """Source numbers the report's claims cite, ascending."""
        return sorted({n for claim in self.claims() for n in claim.citations()})

    def uncovered_plan_items(self) -> list[int]:
        """1-based plan items with no supported claim (every item, before the check)."""
        covered = {
            claim.plan_item or section.plan_item
            for section in self.sections
            for claim in section.claims
            if claim.support == "supported"
        }
        return [i for i in range(1, len(self.plan_items) + 1) if i not in covered]

    def to_markdown(self) -> str:
        """The report as Markdown: claims with `[n]` marks, then one Sources section."""
        lines = [f"# {'(Partial) ' if self.partial else ''}{self.title.strip() or 'Report'}", ""]
        if self.partial:
            lines += ["> This run was stopped early; the report covers only what was read.", ""]
        if self.notice:
            lines += [f"> {self.notice}", ""]
        if self.lead:
            lines += [self.lead, ""]
        for section in self.sections:
            if not section.claims:
                continue
            lines += [f"## {section.heading.strip() or 'Findings'}", ""]
            for claim in section.claims:
                marks = "".join(f"[{n}]" for n in claim.citations())
                lines += [f"- {claim.text.strip()} {marks}".rstrip()]
            lines.append("")
        cited = set(self.cited_numbers())
        listed = [s for s in self.sources if s.number in cited]
        if listed:
            lines += ["## Sources", ""]
            lines += [f"[{s.number}] {s.title} — {s.url}" for s in listed]
            lines.append("")
        return "\n".join(lines).strip() + "\n"


class StrikeClaim(BaseModel):
    """A reviewer's request, while a report waits for review, to take one claim out of it."""

    claim_id: str = Field(min_length=1, max_length=200)
    reason: str = Field(default="", max_length=2000)
    struck_by: str = "anonymous"
    request_id: str | None = Field(default=None, max_length=200)


class FindSource(BaseModel):
    """A reviewer's request, while a report waits for review, to search once more for a source
    for one claim (kept or removed as unsupported), then rewrite and re-check the report."""

    claim_id: str = Field(min_length=1, max_length=200)
    requested_by: str = "anonymous"
    request_id: str | None = Field(default=None, max_length=200)


def passage_texts(sources_json: Any) -> dict[int, dict[str, str]]:
    """{source number: {passage id: text}} from a run's sources.json (workflows/reading.py)."""
    found: dict[int, dict[str, str]] = {}
    for source in sources_json if isinstance(sources_json, list) else []:
        if isinstance(source, dict) and isinstance(source.get("number"), int):
            passages = source.get("passages") or []
            found[source["number"]] = {
                str(p.get("id")): str(p.get("text", "")) for p in passages if isinstance(p, dict)
            }
    return found
