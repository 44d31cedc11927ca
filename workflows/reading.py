"""Reading sources: each chosen hit is fetched, then the model takes notes on it, in batches.

A base class of ResearchLoop, kept apart because reading has its own failure rules: one source
that cannot be read or summarised leaves a gap, never a failed run. Also builds sources.json.
Deterministic only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from domain.calls import NotesRequest, NotesResult, ReadRequest
    from domain.run import ResearchInput
    from domain.sources import Note, ReadSource, SearchHit
from workflows.tracker import RunTracker

READ_BATCH = 4


class SourceReader:
    """Reads search hits into `sources` and `notes`. ResearchLoop sets the attributes below
    and provides `call`, which runs one activity and honours a `stop`."""

    inp: ResearchInput
    track: RunTracker
    sources: list[ReadSource]
    notes: list[Note]
    call: Callable[..., Awaitable[Any]]

    async def _read_all(self, hits: list[tuple[SearchHit, str]]) -> None:
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
        req = ReadRequest(run_id=self.inp.run_id, hit=hit, query=query)
        try:
            source = await self.call("read.read_source", req, ReadSource, f"read: {hit.title}")
        except ActivityError as exc:
            if is_cancelled_exception(exc):
                raise
            self.track.view.progress.sources_failed += 1
            self.track.event("source_failed", hit.title, source_id=hit.source_id, error=str(exc))
            return
        self.sources.append(source)
        self.track.view.progress.sources_read = len(self.sources)
        self.track.event(
            "source_read",
            source.title,
            source_id=source.source_id,
            url=source.url,
            number=len(self.sources),
            passages=len(source.passages),
        )
        notes_req = NotesRequest(question=self.inp.question, source=source)
        try:
            result = await self.call(
                "llm.take_notes", notes_req, NotesResult, f"notes: {hit.title}"
            )
        except ActivityError as exc:
            if is_cancelled_exception(exc):
                raise
            # A model that can't summarise one source leaves a gap, not a failed run.
            self.track.view.progress.sources_failed += 1
            self.track.event(
                "notes_failed", source.title, source_id=source.source_id, error=str(exc)
            )
            return
        self.notes += result.notes
        self.track.view.progress.notes = len(self.notes)
        self.track.event("notes_taken", source.title, count=len(result.notes))

    def sources_bundle(self) -> list[dict[str, Any]]:
        """sources.json: every source read, numbered as cited, with the passages notes used."""
        bundle = []
        for number, source in enumerate(self.sources, start=1):
            cited = {
                pid for n in self.notes if n.source_id == source.source_id for pid in n.passage_ids
            }
            bundle.append(
                {
                    "number": number,
                    **source.model_dump(mode="json", exclude={"passages"}),
                    "passages": [
                        {**p.model_dump(mode="json"), "cited": p.id in cited}
                        for p in source.passages
                    ],
                    "notes": [n.text for n in self.notes if n.source_id == source.source_id],
                }
            )
        return bundle
