"""Reading sources: each chosen hit is fetched, then the model takes notes on it, in batches.

Kept apart because reading has its own failure rules: one source that cannot be read or
summarised leaves a gap, never a failed run. Also builds sources.json. Deterministic only.
"""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from activities.table import READ_SOURCE, TAKE_NOTES
    from domain.calls import NotesRequest, ReadRequest
    from domain.sources import Note, ReadSource, SearchHit
    from domain.state import RunState
from workflows.calls import ActivityRunner
from workflows.tracker import RunTracker

READ_BATCH = 4


class SourceReader:
    """Reads search hits into the run's `sources` and `notes`, through `runner`."""

    def __init__(
        self, state: RunState, track: RunTracker, runner: ActivityRunner, folder: str, question: str
    ) -> None:
        self.state = state
        self.track = track
        self.runner = runner
        self.folder = folder  # the run's artifact folder (search_attributes.artifact_folder)
        self.question = question

    async def read_all(self, hits: list[tuple[SearchHit, str]]) -> None:
        """Read every (hit, the query that found it), keeping what could be read."""
        # In batches: a local model serves one request at a time, and 50 queued calls would
        # outlive their client timeout and be retried while the server still works on them.
        for first in range(0, len(hits), READ_BATCH):
            batch = hits[first : first + READ_BATCH]
            outcomes = await asyncio.gather(
                *(self._read_one(hit, query) for hit, query in batch), return_exceptions=True
            )
            # Re-raise what must end the run (stop, cancel); one unreadable source must not.
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    raise outcome

    async def _read_one(self, hit: SearchHit, query: str) -> None:
        state, progress = self.state, self.track.view.progress
        req = ReadRequest(run_id=self.folder, hit=hit, query=query)
        try:
            source = await self.runner.call(READ_SOURCE, req, f"read: {hit.title}")
        except ActivityError as exc:
            if is_cancelled_exception(exc):
                raise
            progress.sources_failed += 1
            self.track.event("source_failed", hit.title, source_id=hit.source_id, error=str(exc))
            return
        state.sources.append(source)
        progress.sources_read = len(state.sources)
        self.track.event(
            "source_read",
            source.title,
            source_id=source.source_id,
            url=source.url,
            number=len(state.sources),
            passages=len(source.passages),
        )
        notes_req = NotesRequest(question=self.question, source=source)
        try:
            result = await self.runner.call(TAKE_NOTES, notes_req, f"notes: {hit.title}")
        except ActivityError as exc:
            if is_cancelled_exception(exc):
                raise
            # A model that can't summarise one source leaves a gap, not a failed run.
            progress.sources_failed += 1
            self.track.event(
                "notes_failed", source.title, source_id=source.source_id, error=str(exc)
            )
            return
        state.notes += result.notes
        progress.notes = len(state.notes)
        self.track.event("notes_taken", source.title, count=len(result.notes))


def sources_bundle(sources: list[ReadSource], notes: list[Note]) -> list[dict[str, Any]]:
    """sources.json: every source read, numbered as cited, with the passages notes used."""
    bundle = []
    for number, source in enumerate(sources, start=1):
        cited = {pid for n in notes if n.source_id == source.source_id for pid in n.passage_ids}
        bundle.append(
            {
                "number": number,
                **source.model_dump(mode="json", exclude={"passages"}),
                "passages": [
                    {**p.model_dump(mode="json"), "cited": p.id in cited} for p in source.passages
                ],
                "notes": [n.text for n in notes if n.source_id == source.source_id],
            }
        )
    return bundle
