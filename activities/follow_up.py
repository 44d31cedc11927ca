"""The follow-up seed activity: a finished run's sources, notes and report, for a run that
follows it up (POST /runs/{id}/followups).

It reads ANOTHER run's artifacts, so it checks what the API already checked, in case a client
started a workflow directly: the followed run's folder must belong to the same owner as the new
run's folder (both scoped by `~<owner>`, or both unscoped), and every key it reads must lie in
that folder. The sources come back as they were read there (their texts stay where they are,
`artifact_ref` pointing into the followed run's folder), so nothing is fetched again.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import ValidationError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.table import LOAD_SEED
from domain.calls import SeedRequest, SeedResult
from domain.options import FollowUpSeed
from domain.report import ReportDoc
from domain.sources import Note, Passage, ReadSource
from providers.artifacts import ArtifactStore, validate_key

# What of the followed run's report goes into the plan and writer prompts: the embedded model
# has a 4,096-token context, most of it for passages.
CONTEXT_CHARS = 1200
OWNER_SEPARATOR = "~"


class FollowUpActivities:
    def __init__(self, store: ArtifactStore) -> None:
        self.store = store

    @activity.defn(name=LOAD_SEED.name)
    async def load_seed(self, req: SeedRequest) -> SeedResult:
        """The followed run's sources (passages with ids), their notes and its report's claims."""
        _check_owner(req.run_id, req.seed.folder)
        try:
            return await asyncio.to_thread(self._load, req.seed)
        except FileNotFoundError as exc:
            # The followed run's artifacts were deleted: no retry brings them back.
            raise ApplicationError(str(exc), type="source_not_found", non_retryable=True) from exc
        except (ValidationError, ValueError, TypeError) as exc:
            raise ApplicationError(
                f"unreadable seed: {exc}", type="bad_request", non_retryable=True
            ) from exc

    def _load(self, seed: FollowUpSeed) -> SeedResult:
        bundle = self.store.read_json(_inside(seed, seed.sources_ref))
        sources: list[ReadSource] = []
        notes: list[Note] = []
        for entry in bundle if isinstance(bundle, list) else []:
            source = _source(seed, entry)
            sources.append(source)
            cited = [p["id"] for p in entry.get("passages") or [] if p.get("cited")]
            # sources.json keeps a note's text, not its passages: the cited ones stand for them.
            ids = cited or [p.id for p in source.passages[:1]]
            notes += [
                Note(text=str(text), source_id=source.source_id, passage_ids=ids)
                for text in entry.get("notes") or []
            ]
        return SeedResult(sources=sources, notes=notes, context=self._context(seed))

    def _context(self, seed: FollowUpSeed) -> str:
        """The followed report's claims, one per line (its Markdown when it has no claims)."""
        if seed.report_json_ref:
            data = self.store.read_json(_inside(seed, seed.report_json_ref))
            doc = ReportDoc.model_validate(data)
            lines = [c.text for section in doc.sections for c in section.claims]
            text = "\n".join(f"- {line}" for line in lines)
        else:
            text = self.store.read_text(_inside(seed, seed.report_ref))
        return text[:CONTEXT_CHARS]


def _check_owner(folder: str, seed_folder: str) -> None:
    owner = folder.partition(OWNER_SEPARATOR)[2]
    seed_owner = seed_folder.partition(OWNER_SEPARATOR)[2]
    # A scoped run may follow its owner's run from before ids were scoped (unscoped folder);
    # the API checked that one's ResearchOwner. Any other pairing is another owner's folder.
    if seed_owner and seed_owner != owner:
        raise ApplicationError(
            f"run folder {folder!r} may not read run folder {seed_folder!r}",
            type="bad_request",
            non_retryable=True,
        )


def _inside(seed: FollowUpSeed, key: str) -> str:
    """`key` if it is one of the followed run's artifacts; ValueError otherwise."""
    if not validate_key(key).startswith(f"runs/{seed.folder}/"):
        raise ValueError(f"{key!r} is not an artifact of run folder {seed.folder!r}")
    return key


def _source(seed: FollowUpSeed, entry: dict[str, Any]) -> ReadSource:
    passages = [Passage(id=str(p["id"]), text=str(p["text"])) for p in entry.get("passages") or []]
    return ReadSource(
        source_id=entry["source_id"],
        title=entry["title"],
        url=entry["url"],
        provider=entry.get("provider", "local"),
        artifact_ref=_inside(seed, entry["artifact_ref"]),
        chars=int(entry.get("chars", 0)),
        passages=passages,
    )
