"""The JSON shapes the model is asked to fill, with size bounds in the schema.

The bounds are advertised in the JSON schema only (`maxLength`, `maxItems`), not validated:
a grammar-constrained local model needs them to stop generating, while a large hosted model
that runs a little long should be trimmed by our code, not fail validation and be re-asked.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field


def bounded_text(max_chars: int) -> Any:
    return Field(json_schema_extra={"maxLength": max_chars})


def bounded_list(max_items: int) -> Any:
    # Required, so a grammar-constrained model writes the list rather than skipping it.
    return Field(json_schema_extra={"maxItems": max_items})


ShortText = Annotated[str, bounded_text(160)]


class QuestionsDraft(BaseModel):
    questions: list[ShortText] = bounded_list(5)


class QueriesDraft(BaseModel):
    queries: list[Annotated[str, bounded_text(80)]] = bounded_list(6)


class NoteDraft(BaseModel):
    text: Annotated[str, bounded_text(300)]
    passage_ids: list[Annotated[str, bounded_text(8)]] = bounded_list(3)


class NotesDraft(BaseModel):
    notes: list[NoteDraft] = bounded_list(4)


class GapsDraft(BaseModel):
    gaps: list[ShortText] = bounded_list(3)


class ClaimDraft(BaseModel):
    text: Annotated[str, bounded_text(200)]
    source: int
    passage_id: Annotated[str, bounded_text(8)]
    quote: Annotated[str, bounded_text(200)]


class SectionDraft(BaseModel):
    heading: Annotated[str, bounded_text(80)]
    plan_item: int
    claims: list[ClaimDraft] = bounded_list(3)


class ReportDraft(BaseModel):
    """A claims draft: every sentence names the source, passage and quote it rests on.

    Kept under the name ReportDraft: the schema name is what a served model and the scripted
    test model see. At the bounds (4 sections of 3 claims) it is about 7,000 characters of
    JSON, inside the report's token budget (settings.llm_report_max_tokens).
    """

    title: Annotated[str, bounded_text(120)]
    lead: Annotated[str, bounded_text(240)]
    sections: list[SectionDraft] = bounded_list(4)
