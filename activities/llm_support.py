"""What the LLM activities share besides the client: liveness heartbeats, the paid-for report
draft carried between attempts, and the notes digest that fits a small model's context."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pydantic import BaseModel, ValidationError
from temporalio import activity

from activities.drafts import ReportDraft
from domain.run import Usage
from domain.sources import Note

NOTES_BUDGET_CHARS = 6000


@asynccontextmanager
async def heartbeating(every: float = 1.0) -> AsyncIterator[None]:
    """Heartbeat while a slow call runs, so a dead worker is noticed in seconds, not minutes."""

    async def beat() -> None:
        while True:
            activity.heartbeat()
            await asyncio.sleep(every)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()


class SavedDraft(BaseModel):
    """A paid-for report draft, carried to the next attempt in the heartbeat details."""

    draft: ReportDraft
    usage: Usage


def saved_draft() -> SavedDraft | None:
    for details in reversed(activity.info().heartbeat_details):
        try:
            return SavedDraft.model_validate(details)
        except ValidationError:  # an empty liveness heartbeat, or something older
            continue
    return None


def notes_digest(notes: list[Note], numbers: dict[str, int]) -> str:
    """Notes as prompt lines, cut to a budget that fits a small model's context."""
    lines, used = [], 0
    for note in notes:
        tag = f"[{numbers[note.source_id]}] " if note.source_id in numbers else "- "
        line = tag + note.text
        if used + len(line) > NOTES_BUDGET_CHARS:
            break
        lines.append(line)
        used += len(line) + 1
    return "\n".join(lines) or "(no notes)"
