"""Payloads of the activities: each activity's request and result (see activities/table.py).

Small by design: big texts stay in the artifact store and travel by reference.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from domain.options import FollowUpSeed
from domain.run import ClarifyingQuestion, RunView, Usage
from domain.source_policy import DateWindow
from domain.sources import CitedSource, Note, ReadSource, SearchHit


class LLMRequest(BaseModel):
    """What every LLM activity's request carries besides its own fields."""

    # The run's artifact folder when the run logs its LLM payloads (RunOptions.log_llm_payload);
    # None (the default, and every request of older runs): nothing is logged.
    payload_log: str | None = None


class QuestionsRequest(LLMRequest):
    question: str
    max_questions: int = 3


class QuestionsResult(BaseModel):
    questions: list[ClarifyingQuestion]
    usage: Usage = Field(default_factory=Usage)


class PlanRequest(LLMRequest):
    question: str
    clarifications: dict[str, str] = Field(default_factory=dict)
    previous_plan: str | None = None
    comment: str | None = None
    # A follow-up run's context: what the run it follows reported ("" for other runs).
    context: str = ""


# Where a checked answer came from: the model, or the deterministic fallback after the model's
# answer failed the checks (activities/checks.py) twice.
Origin = Literal["model", "fallback"]


class PlanResult(BaseModel):
    plan: str
    usage: Usage = Field(default_factory=Usage)
    source: Origin = "model"
    rejected: int = Field(default=0, description="Items of the model's answers the checks refused")


class QueriesRequest(LLMRequest):
    question: str
    plan: str
    gaps: list[str] = Field(default_factory=list)
    previous_queries: list[str] = Field(default_factory=list)
    count: int = 3


class QueriesResult(BaseModel):
    queries: list[str]
    usage: Usage = Field(default_factory=Usage)
    source: Origin = "model"
    rejected: int = 0


class SearchRequest(BaseModel):
    query: str
    limit: int = 5
    # Which configured providers to ask: names ("local", "searxng", ...) or "web" for every web
    # provider. None asks them all, so requests from older workflows keep their meaning.
    sources: list[str] | None = None


class SearchResult(BaseModel):
    hits: list[SearchHit]
    # The request carried a date window this provider cannot apply (it searched without one).
    window_ignored: bool = False


class ProvidersRequest(BaseModel):
    # As in SearchRequest: provider names, "web", or None for every configured provider.
    sources: list[str] | None = None


class ProvidersResult(BaseModel):
    providers: list[str] = Field(description="Configured providers to ask, in settings order")


class ProviderSearchRequest(BaseModel):
    provider: str = Field(description="The one provider to ask, e.g. 'brave' or 'local'")
    query: str
    limit: int = 5
    # The local index only: search just this configured documents folder (by name).
    folder: str | None = None
    # The run's publication window (RunOptions.source_policy); None: no window, as before.
    window: DateWindow | None = None


class ReadRequest(BaseModel):
    run_id: str = Field(
        description="The run's artifact folder: its run id, plus ~<owner> when scoped"
    )
    hit: SearchHit
    query: str
    max_passages: int = 3


class NotesRequest(LLMRequest):
    question: str
    source: ReadSource


class NotesResult(BaseModel):
    notes: list[Note]
    usage: Usage = Field(default_factory=Usage)
    dropped: int = Field(default=0, description="Notes refused as unsupported by their passages")


class GapsRequest(LLMRequest):
    question: str
    notes: list[Note]


class GapsResult(BaseModel):
    gaps: list[str]
    usage: Usage = Field(default_factory=Usage)
    source: Origin = "model"
    rejected: int = 0


class ReportRequest(LLMRequest):
    run_id: str = Field(
        description="The run's artifact folder: its run id, plus ~<owner> when scoped"
    )
    question: str
    plan: str
    notes: list[Note]
    sources: list[CitedSource]
    revision: int = 0
    comment: str | None = None
    previous_report_ref: str | None = None
    partial: bool = False
    # The run's sources.json (passages with ids and texts) that claims quote; empty from older
    # workflows, whose reports are then written from the notes alone.
    sources_ref: str = ""
    # A follow-up run's context: what the run it follows reported ("" for other runs).
    context: str = ""


class ReportResult(BaseModel):
    report_ref: str
    chars: int
    citations: int
    citations_dropped: int
    usage: Usage = Field(default_factory=Usage)
    # The claims behind the Markdown (domain/report.py); defaults keep older payloads loading.
    json_ref: str = Field(default="", description="Artifact key of the report's ReportDoc JSON")
    claims: int = Field(default=0, description="Claims kept in the report")
    claims_supported: int = 0
    claims_unsupported: int = Field(default=0, description="Claims the check removed")
    claims_dropped: int = Field(
        default=0, description="Model claims the writer's own checks refused (kept in removed)"
    )
    plan_items_uncovered: list[int] = Field(
        default_factory=list, description="1-based plan items with no supported claim"
    )


class SupportRequest(BaseModel):
    run_id: str = Field(
        description="The run's artifact folder: its run id, plus ~<owner> when scoped"
    )
    json_ref: str = Field(description="Artifact key of the written report's ReportDoc JSON")
    sources_ref: str = Field(default="", description="sources.json's key; '' for the run's own")
    revision: int = 0
    partial: bool = False


class SupportResult(BaseModel):
    json_ref: str = Field(description="The checked ReportDoc, at the same key as the written one")
    report_ref: str = Field(description="Its Markdown, rendered again from the checked claims")
    chars: int
    claims: int = Field(description="Claims kept in the report, all supported")
    claims_supported: int
    claims_unsupported: int = Field(description="Claims the check removed")
    plan_items_uncovered: list[int] = Field(default_factory=list)
    citations: int = Field(description="Distinct sources the kept claims cite")
    claim_ids: list[str] = Field(default_factory=list, description="Ids of the claims kept")
    claim_texts: dict[str, str] = Field(
        default_factory=dict, description="Id to text of the claims kept or found unsupported"
    )


class StrikeRequest(BaseModel):
    run_id: str = Field(
        description="The run's artifact folder: its run id, plus ~<owner> when scoped"
    )
    json_ref: str = Field(description="The checked report's ReportDoc JSON")
    claim_id: str
    reason: str = ""


class SeedRequest(BaseModel):
    run_id: str = Field(description="The follow-up run's own artifact folder")
    seed: FollowUpSeed


class SeedResult(BaseModel):
    sources: list[ReadSource] = Field(description="The followed run's sources, in its order")
    notes: list[Note] = Field(default_factory=list)
    context: str = Field(default="", description="Its report's claims, for the prompts")


class SaveJson(BaseModel):
    run_id: str = Field(
        description="The run's artifact folder: its run id, plus ~<owner> when scoped"
    )
    name: str = Field(description="File name inside the run's folder, e.g. 'run.json'")
    data: dict | list


class SaveRunFiles(BaseModel):
    """A finished run's view, for its final.md and context_bundle.json (activities/run_files)."""

    run_id: str = Field(description="The run's artifact folder: its run id, plus ~<owner>")
    view: RunView


class RunFiles(BaseModel):
    final: str = Field(description="Artifact key of final.md")
    context_bundle: str = Field(description="Artifact key of context_bundle.json")
