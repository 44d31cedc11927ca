"""Who owns which workflow, remembered by the API process so that ownership costs one describe
per run and not one per request.

A run's owner never changes: it is a search attribute set at start, and runs and approvals are
started with REJECT_DUPLICATE, so an id cannot name another owner's workflow while the first is
retained. The entries still expire (`ttl_s`) so an id that retention removed and someone else
reused is looked up again, and the table is bounded (least recently used entries go first).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable


class OwnerCache:
    def __init__(
        self,
        max_entries: int = 50_000,
        ttl_s: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_entries = max_entries
        self.ttl_s = ttl_s
        self.clock = clock
        self._owners: OrderedDict[str, tuple[str, float]] = OrderedDict()

    def get(self, workflow_id: str) -> str | None:
        """The owner recorded for `workflow_id`, or None when unknown or expired."""
        entry = self._owners.get(workflow_id)
        if entry is None:
            return None
        owner, expires = entry
        if self.clock() >= expires:
            del self._owners[workflow_id]
            return None
        self._owners.move_to_end(workflow_id)
        return owner

    def put(self, workflow_id: str, owner: str | None) -> None:
        """Remember an owner Temporal reported; an ownerless workflow is not remembered, so a
        run that gains its attribute later is seen on the next request."""
        if not owner or self.max_entries <= 0:
            return
        self._owners[workflow_id] = (owner, self.clock() + self.ttl_s)
        self._owners.move_to_end(workflow_id)
        while len(self._owners) > self.max_entries:
            self._owners.popitem(last=False)

    def __len__(self) -> int:
        return len(self._owners)
