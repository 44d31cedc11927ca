"""The JSON form of a finished run's report (`GET /runs/{id}/report?format=json`): its sections,
the citations with the passages behind each `[n]`, and the HTML the page shows."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from domain.run import RunStatus


class ReportSection(BaseModel):
    title: str
    level: int
    content: str
    citations: list[int] = Field(
        default_factory=list, description="Source numbers cited in this section, in order"
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
