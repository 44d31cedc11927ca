"""The artifact activity: workflows cannot touch the disk, so they save run records through it."""

from __future__ import annotations

import asyncio
import re

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.table import SAVE_JSON
from domain.calls import SaveJson
from providers.artifacts import ArtifactStore, run_key

# A plain file name: no folders, no hidden files, nothing a shell or a URL would trip over.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


class ArtifactActivities:
    def __init__(self, store: ArtifactStore) -> None:
        self.store = store

    @activity.defn(name=SAVE_JSON.name)
    async def save_json(self, req: SaveJson) -> str:
        """Write `runs/<run_id>/<name>` atomically and return its key (same input, same file)."""
        if not _PLAIN_NAME.fullmatch(req.name):
            raise ApplicationError(
                f"artifact name must be a plain file name, got {req.name!r}",
                type="bad_artifact_name",
                non_retryable=True,
            )
        try:
            key = run_key(req.run_id, req.name)
        except ValueError as exc:
            # Bad input stays bad on every retry: fail the activity for good.
            raise ApplicationError(str(exc), type="bad_artifact_name", non_retryable=True) from exc
        return await asyncio.to_thread(self.store.write_json, key, req.data)
