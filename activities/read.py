"""The read activity: a search hit becomes a stored full text plus the passages worth reading."""

from __future__ import annotations

import asyncio
from pathlib import Path

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.table import READ_SOURCE
from domain.calls import ReadRequest
from domain.sources import ReadSource
from providers.artifacts import ArtifactStore, source_key
from providers.local_index import DocumentNotFoundError, LocalIndex
from providers.pinned import locate
from providers.web_read import WebReader, best_passages


class ReadActivities:
    def __init__(
        self,
        index: LocalIndex,
        store: ArtifactStore,
        web: WebReader | None = None,
        folders: list[Path] | None = None,
    ) -> None:
        self.index = index
        self.store = store
        # None: no web provider is configured, so no web hit can come to be read.
        self.web = web
        # The configured documents folders, where a run's pinned document paths are found.
        self.folders = list(folders or [])

    async def aclose(self) -> None:
        """Close the web reader's HTTP client; the worker calls this when it stops."""
        if self.web is not None:
            await self.web.aclose()

    @activity.defn(name=READ_SOURCE.name)
    async def read_source(self, req: ReadRequest) -> ReadSource:
        """Store the source's full text under the run and return its best passages for the query."""
        if req.hit.provider != "local":
            if self.web is None or not req.hit.url.startswith(("http://", "https://")):
                raise ApplicationError(
                    f"cannot read {req.hit.url!r} from provider {req.hit.provider!r}",
                    type="unsupported_source",
                    non_retryable=True,
                )
            return await self._read_web(req, self.web)
        # SQLite and file writes block; on the event loop they would stall the whole worker.
        return await asyncio.to_thread(self._read_local, req)

    def _read_local(self, req: ReadRequest) -> ReadSource:
        source_id = req.hit.source_id
        if not Path(source_id).is_absolute():
            # A pinned document path (RunOptions.source_policy); the index keys files by their
            # resolved absolute path.
            found = locate(source_id, self.folders)
            if found is None:
                raise ApplicationError(
                    f"{source_id!r} is not inside a configured documents folder",
                    type="source_not_found",
                    non_retryable=True,
                )
            source_id = str(found)
        try:
            key = source_key(req.run_id, source_id)
        except ValueError as exc:
            raise ApplicationError(str(exc), type="bad_artifact_name", non_retryable=True) from exc
        try:
            # A file deleted since the last sync would still be in the index; citing it would
            # hand the reader a dead link, so it counts as gone too.
            if not Path(source_id).is_file():
                raise DocumentNotFoundError(f"file no longer exists: {source_id}")
            doc = self.index.document(source_id)
            passages = self.index.best_passages(source_id, req.query, req.max_passages)
        except DocumentNotFoundError as exc:
            raise ApplicationError(str(exc), type="source_not_found", non_retryable=True) from exc
        self.store.write_text(key, doc.text)
        return ReadSource(
            source_id=doc.source_id,
            title=doc.title,
            url=doc.url,
            provider="local",
            artifact_ref=key,
            chars=len(doc.text),
            passages=passages,
        )

    async def _read_web(self, req: ReadRequest, web: WebReader) -> ReadSource:
        try:
            key = source_key(req.run_id, req.hit.source_id)
        except ValueError as exc:
            raise ApplicationError(str(exc), type="bad_artifact_name", non_retryable=True) from exc
        page = await web.read(req.hit.url)
        passages = await asyncio.to_thread(best_passages, page.text, req.query, req.max_passages)
        await asyncio.to_thread(self.store.write_text, key, page.text)
        return ReadSource(
            source_id=req.hit.source_id,
            title=page.title or req.hit.title,
            url=req.hit.url,
            provider=req.hit.provider,
            artifact_ref=key,
            chars=len(page.text),
            passages=passages,
        )
