"""Seed 002's response bodies on the main runs contract (docs/contracts.md, "Seed 002").

The trigger's extra fields live on `CreateRunRequest` (api/schemas.py); these are the shapes of
the three read routes a seed-002 front end polls: `/status`, `/output` and `/context`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

SeedStatus = Literal["queued", "running", "completed", "completed_with_gaps", "failed", "stopped"]


class SeedRunStatus(BaseModel):
    run_id: str
    status: SeedStatus
    started_at: datetime
    completed_at: datetime | None = None
    finish_reason: str | None = None
    error: str | None = None


class SeedRunOutput(BaseModel):
    run_id: str
    status: SeedStatus
    content: str = Field(description="The final report as Markdown (empty: no report)")
    final_output_path: str = Field(description="final.md, relative to the data directory")


class SeedRunContext(BaseModel):
    run_id: str
    status: SeedStatus
    context_bundle: dict[str, Any] = Field(
        description="Question, plan, sources with passages and notes, report references"
    )
    context_bundle_path: str = Field(
        description="context_bundle.json, relative to the data directory"
    )
