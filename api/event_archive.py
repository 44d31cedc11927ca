"""A closed run's event log, read from the `events.json` it saved as it finished.

Serving a closed run from the file costs a disk read; the query it replaces replays the run's
whole history on a worker. Runs that closed before the log was saved, or without finishing
(failed, cancelled, terminated), have no file: the caller falls back to the query.
"""

from __future__ import annotations

import asyncio
import logging

from pydantic import TypeAdapter, ValidationError

from domain.run import EventsPage, RunEvent
from providers.artifacts import ArtifactStore, run_key
from workflows.event_log import FINAL_LOG_NAME, FinalEventLog
from workflows.search_attributes import artifact_folder

log = logging.getLogger(__name__)

_PAGE = TypeAdapter(list[RunEvent])


class EventArchive:
    """The stored final log of run `run_id`, whose workflow id is `workflow_id`."""

    def __init__(self, store: ArtifactStore, run_id: str, workflow_id: str) -> None:
        self.store = store
        self.run_id = run_id
        self.workflow_id = workflow_id
        self.folder = artifact_folder(workflow_id)

    async def load(self) -> EventsPage | None:
        """The whole stored log, or None when there is none to trust (then query the run)."""
        # The store does plain file I/O; keep it off the event loop.
        return await asyncio.to_thread(self._load)

    def _load(self) -> EventsPage | None:
        try:
            key = run_key(self.folder, FINAL_LOG_NAME)
            if not self.store.exists(key):
                return None
            index = FinalEventLog.model_validate(self.store.read_json(key))
            if index.workflow_id != self.workflow_id:
                # Folders of runs started before ids were scoped by owner are named by the REST
                # run id alone: a log written by another owner's run is never served.
                return None
            events = list(index.events)
            for name in index.pages:
                page = self.store.read_json(run_key(self.folder, name))
                events.extend(_PAGE.validate_python(page))
        except (OSError, ValueError, ValidationError) as exc:
            # A damaged or half-copied log: the query still knows the truth.
            log.warning("event log of run %s unreadable (%s); querying the run", self.run_id, exc)
            return None
        return EventsPage(events=events, last_seq=index.last_seq, finished=index.finished)
