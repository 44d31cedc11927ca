"""The JSON form of a finished run's report (`GET /runs/{id}/report?format=json`): its sections,
the citations with the passages behind each `[n]`, the HTML the page shows and, for a run that
wrote its report as claims (domain/report.py), every claim with its evidence and support; and
the bodies of a reviewer's requests on one claim of a report under review."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from api.schemas import Forbid, Identity, RequestId
from domain.report import ClaimOrigin, Evidence, Support
from domain.run import RunStatus


class ReportSection(BaseModel):
    title: str
    level: int
    content: str
    citations: list[int] = Field(
        default_factory=list, description="Source numbers cited in this section, in order"
    )
    claim_ids: list[str] = Field(
        default_factory=list, description="Its claims' ids (a report written as claims)"
    )


class CitedPassage(BaseModel):
    id: str
    text: str


class Citation(BaseModel):
    number: int = Field(description="The n of `[n]` in the report; the source's `number`")
    source_id: str | None = None
    title: str | None = None
    url: str | None = None
    sections: list[str] = Field(description="Titles of the sections that cite it")
    passages: list[CitedPassage] = Field(description="The passages the run's notes used")


class ReportClaim(BaseModel):
    id: str
    text: str = Field(description="One sentence, without citation marks")
    section: str = Field(description="The heading of the section it sits in ('' if removed)")
    plan_item: int | None = None
    origin: ClaimOrigin = "model"
    citations: list[int] = Field(description="Source numbers it cites, in order")
    evidence: list[Evidence] = Field(description="Source, passage and quote behind each citation")
    support: Support
    score: float
    reason: str = ""


class ClaimCounts(BaseModel):
    claims: int = Field(description="Claims the report keeps")
    supported: int = Field(description="Of those, how many the check found supported")
    removed: int = Field(description="Claims removed as unsupported or struck")
    cited_passages: int = Field(description="Distinct passages the kept claims cite")


class ReportJson(BaseModel):
    run_id: str
    status: RunStatus
    finish_reason: str | None = None
    markdown: str
    html: str = Field(
        default="",
        description="The report as sanitised HTML for a page: citations are "
        '`<button class="cite" data-cite="n">`, headings start at h2',
    )
    sections: list[ReportSection]
    citations: list[Citation] = Field(default_factory=list)
    sources: Any = Field(default=None, description="The run's sources.json, when written")
    # From here on only a report written as claims fills these; an older run's report (Markdown
    # only) leaves them empty, with `structured` false.
    structured: bool = Field(
        default=False, description="True when built from the run's report JSON (claims)"
    )
    title: str = ""
    lead: str = ""
    notice: str = ""
    partial: bool = False
    checked: bool = Field(default=False, description="True once the support check has run")
    plan_items: list[str] = Field(default_factory=list)
    plan_items_uncovered: list[int] = Field(
        default_factory=list, description="1-based plan items with no supported claim"
    )
    claims: list[ReportClaim] = Field(
        default_factory=list, description="The claims the report keeps, in reading order"
    )
    removed: list[ReportClaim] = Field(
        default_factory=list, description="Unsupported or struck claims, with the reason"
    )
    counts: ClaimCounts | None = None


# -- a reviewer's requests on one claim (api/routes/claims.py) --------------------------------


class StrikeBody(Forbid):
    reason: Annotated[str, StringConstraints(max_length=2000)] = Field(
        default="", description="Why, kept with the struck claim"
    )
    struck_by: Identity = Field(
        default="anonymous", description="Who strikes it; with API keys on, the key's owner"
    )
    request_id: RequestId | None = Field(
        default=None, description="Idempotency key: a repeat returns the first result"
    )


class FindSourceBody(Forbid):
    requested_by: Identity = Field(
        default="anonymous", description="Who asks; with API keys on, the key's owner"
    )
    request_id: RequestId | None = Field(
        default=None, description="Idempotency key: a repeat returns the first result"
    )
