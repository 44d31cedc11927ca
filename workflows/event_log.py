"""The final event log: what a finished run leaves in the artifact store for `/events` to serve.

A query on a closed run replays its whole history on a worker, so a run saves its log once, as it
finishes, and the API serves closed runs from the file. `events.json` is an EventsPage (the
`get_events(0)` answer: the log the run still holds, with its sequence numbers) plus the
workflow id it belongs to and the names of any further pages. Events are small, but the log is
unbounded within one Temporal run (continue-as-new carries only its tail), so it is cut into
pages of at most PAGE_BYTES of JSON: each save is one activity payload and must stay well under
Temporal's 2 MB limit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import Field
from temporalio import workflow
from temporalio.exceptions import ActivityError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from domain.run import EventsPage, RunEvent

# Runs that finished before the log was saved replay without the extra activities.
FINAL_LOG_PATCH = "final-event-log"
FINAL_LOG_NAME = "events.json"
# Half a megabyte of events (a few thousand) per payload: a quarter of the 2 MB limit, so the
# request's envelope and a payload codec's overhead fit too.
PAGE_BYTES = 512_000


class FinalEventLog(EventsPage):
    """`events.json`: the first page of the log, and where the rest is (in order)."""

    workflow_id: str
    pages: list[str] = Field(default_factory=list)


def page_name(number: int) -> str:
    return f"events-{number}.json"


def final_log_saves(log: EventsPage, workflow_id: str) -> list[tuple[str, Any]]:
    """The (name, JSON data) saves that store `log`, the index `events.json` last, so a reader
    that finds the index finds every page it names."""
    pages: list[list[RunEvent]] = [[]]
    size = 0
    for event in log.events:
        # The JSON the payload will carry; deterministic, so replays cut the same pages.
        cost = len(event.model_dump_json().encode())
        if pages[-1] and size + cost > PAGE_BYTES:
            pages.append([])
            size = 0
        pages[-1].append(event)
        size += cost
    first, rest = pages[0], pages[1:]
    names = [page_name(n) for n in range(2, len(rest) + 2)]
    saves: list[tuple[str, Any]] = [
        (name, [e.model_dump(mode="json") for e in page])
        for name, page in zip(names, rest, strict=True)
    ]
    index = FinalEventLog(
        events=first,
        last_seq=log.last_seq,
        finished=log.finished,
        workflow_id=workflow_id,
        pages=names,
    )
    saves.append((FINAL_LOG_NAME, index.model_dump(mode="json")))
    return saves


async def save_final_log(save: Callable[[str, Any], Awaitable[str]], log: EventsPage) -> None:
    """Save `log` as the run's final event log, pages first and `events.json` last. Only a
    cache: if the store gives up, the API queries the run as before, so a finished run does not
    fail for it (a cancellation still ends the run as cancelled)."""
    try:
        for name, data in final_log_saves(log, workflow.info().workflow_id):
            await save(name, data)
    except ActivityError as exc:
        if is_cancelled_exception(exc):
            raise
        workflow.logger.warning("final event log not saved: %s", exc.cause or exc)
