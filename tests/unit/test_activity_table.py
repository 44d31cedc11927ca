"""The activity table, the activity classes and the worker agree: a test, no server.

Every table entry is served, under its name, on the task queue the workflow schedules it on,
with the input and result types the table declares; every activity the worker registers is in
the table. The worker is built from settings as in production (a local index and one web
provider, so every kind of queue exists), without connecting anywhere.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from temporalio import activity

from activities.table import TABLE, task_queue
from settings import Settings
from worker import build_activities, closable_owners, queue_activities

BASE = "research-table"


def definition(fn: Callable[..., Any]) -> activity._Definition:
    # What `@activity.defn` recorded (name, argument and result types). The SDK keeps it on a
    # private class; it is what a Worker reads when it registers the function.
    return activity._Definition.must_from_callable(fn)


@pytest.fixture
async def activities(tmp_path: Path) -> AsyncIterator[list[Callable[..., Any]]]:
    docs = tmp_path / "docs"
    docs.mkdir()
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path,
        docs_dirs=[docs],
        search_providers=["local", "searxng"],
        searxng_url="http://127.0.0.1:9",
    )
    built = build_activities(settings)
    yield built
    for owner in closable_owners(built):
        await owner.aclose()


def test_task_queue_names() -> None:
    assert task_queue(BASE) == BASE
    assert task_queue(BASE, "llm") == f"{BASE}-llm"
    assert task_queue(BASE, "search", "brave") == f"{BASE}-search-brave"
    # The local index has no limits of its own: its searches stay on the workflow's queue.
    assert task_queue(BASE, "search", "local") == BASE


def test_table_names_are_unique() -> None:
    names = [entry.name for entry in TABLE]
    assert len(names) == len(set(names))


async def test_every_entry_is_served_where_the_workflow_schedules_it(
    activities: list[Callable[..., Any]],
) -> None:
    queues = queue_activities(BASE, activities)
    for entry in TABLE:
        queue = task_queue(BASE, entry.lane, provider="searxng")
        served = {definition(fn).name: definition(fn) for fn in queues.get(queue, [])}
        assert entry.name in served, f"{entry.name}: nothing serves it on {queue}"
        defn = served[entry.name]
        assert defn.arg_types == [entry.input], f"{entry.name}: input {defn.arg_types}"
        assert defn.ret_type is entry.result, f"{entry.name}: result {defn.ret_type}"


async def test_every_registered_activity_is_in_the_table(
    activities: list[Callable[..., Any]],
) -> None:
    registered = sorted(definition(fn).name for fn in activities)
    assert registered == sorted(entry.name for entry in TABLE)


async def test_llm_calls_have_their_own_queue(activities: list[Callable[..., Any]]) -> None:
    queues = queue_activities(BASE, activities)
    on_llm_queue = {definition(fn).name for fn in queues[task_queue(BASE, "llm")]}
    assert on_llm_queue == {entry.name for entry in TABLE if entry.lane == "llm"}
