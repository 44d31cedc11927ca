"""What research finds: search hits, the sources read with their passages, notes and citations.

The vocabulary of providers, activities, workflows and the API alike, so it sits at the bottom:
plain pydantic, importing nothing of this project.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class SearchHit(BaseModel):
    source_id: str = Field(description="Stable id: the document path or normalised URL")
    title: str
    url: str
    snippet: str = ""
    score: float = 0.0
    provider: str = "local"


class Passage(BaseModel):
    id: str = Field(description="Stable within a source, e.g. 'p3'")
    text: str


class ReadSource(BaseModel):
    source_id: str
    title: str
    url: str
    provider: str
    artifact_ref: str = Field(description="Artifact key of the full extracted text")
    chars: int
    passages: list[Passage] = Field(description="The passages most relevant to the query")


class Note(BaseModel):
    text: str
    source_id: str
    passage_ids: list[str] = Field(default_factory=list)


class CitedSource(BaseModel):
    number: int
    source_id: str
    title: str
    url: str
