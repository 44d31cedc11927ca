"""A scripted workflow handle for the event feed's unit tests: no server needed."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from temporalio.client import WorkflowExecutionStatus

from domain.run import EventsPage, RunEvent


class ScriptedRun:
    """A handle whose log grows when the test says so; counts what the feed asks (the client
    boundary: every describe and query a feed makes goes through here)."""

    def __init__(self, workflow_id: str = "research-scripted") -> None:
        self.id = workflow_id
        self.events: list[RunEvent] = []
        self.history = 3
        self.status = WorkflowExecutionStatus.RUNNING
        self.finished = False
        self.worker = True
        self.queries = 0
        self.describes = 0
        self.asked: list[int] = []  # the `after` of every query, in order

    def add(self, *types: str) -> None:
        for type_ in types:
            seq = len(self.events) + 1
            self.events.append(RunEvent(seq=seq, at=datetime.now(UTC), type=type_))
        self.history += 3  # a workflow task's worth of history

    def finish(self) -> None:
        self.add("finished")
        self.finished = True
        self.status = WorkflowExecutionStatus.COMPLETED

    def page(self, after: int = 0) -> EventsPage:
        return EventsPage(
            events=self.events[after:], last_seq=len(self.events), finished=self.finished
        )

    async def describe(self, **_: Any) -> Any:
        self.describes += 1
        return SimpleNamespace(status=self.status, history_length=self.history)

    def query(self, _query: Any, after: int, **_: Any) -> Any:
        async def answer() -> EventsPage:
            self.queries += 1
            self.asked.append(after)
            if not self.worker:
                raise TimeoutError  # what an unanswered query turns into
            return self.page(after)

        return answer()
