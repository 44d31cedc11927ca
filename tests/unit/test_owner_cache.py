"""The API remembers who owns a workflow: one describe per run, not one per request, and the
answer is the same 404 for everyone else (isolation on a real server:
tests/integration/test_auth.py)."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from api.auth import Principal, ensure_owner
from api.errors import ApiError
from api.owners import OwnerCache
from workflows.search_attributes import RESEARCH_OWNER

ADA, GRACE = Principal("ada", key_id="k-ada"), Principal("grace", key_id="k-grace")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FakeHandle:
    """A workflow handle whose describe() reports an owner and counts calls."""

    def __init__(self, workflow_id: str, owner: str | None) -> None:
        self.id = workflow_id
        self.owner = owner
        self.describes = 0

    async def describe(self, **_: Any) -> Any:
        self.describes += 1
        pairs = [SearchAttributePair(RESEARCH_OWNER, self.owner)] if self.owner else []
        return type("Desc", (), {"typed_search_attributes": TypedSearchAttributes(pairs)})()


def test_entries_expire_and_the_least_recently_used_goes_first() -> None:
    clock = Clock()
    cache = OwnerCache(max_entries=2, ttl_s=10, clock=clock)
    cache.put("a", "ada")
    cache.put("b", "grace")
    assert cache.get("a") == "ada"  # "a" is now the most recently used
    cache.put("c", "ada")
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == ("ada", None, "ada")
    clock.now = 10.0
    assert cache.get("a") is None and len(cache) == 1
    cache.put("d", None)  # no owner attribute: nothing to remember
    assert cache.get("d") is None and len(cache) == 1


async def test_one_describe_per_workflow_then_the_cache_answers() -> None:
    clock = Clock()
    owners = OwnerCache(ttl_s=60, clock=clock)
    handle = FakeHandle("research-r1", "ada")
    for _ in range(3):
        await ensure_owner(handle, ADA, "run", owners)  # type: ignore[arg-type]
    assert handle.describes == 1
    # Someone else gets the 404 from the remembered owner, without asking Temporal again.
    with pytest.raises(ApiError) as err:
        await ensure_owner(handle, GRACE, "run", owners)  # type: ignore[arg-type]
    assert (err.value.status, err.value.error_code) == (404, "run_not_found")
    assert handle.describes == 1
    clock.now = 60.0
    await ensure_owner(handle, ADA, "run", owners)  # type: ignore[arg-type]
    assert handle.describes == 2


async def test_without_a_cache_or_an_owner_every_request_asks() -> None:
    handle = FakeHandle("research-r2", None)
    owners = OwnerCache()
    for _ in range(2):
        with pytest.raises(ApiError):
            await ensure_owner(handle, ADA, "run", owners)  # type: ignore[arg-type]
    assert handle.describes == 2 and len(owners) == 0
    handle.owner = "ada"
    await ensure_owner(handle, ADA, "run")  # type: ignore[arg-type]
    await ensure_owner(handle, ADA, "run")  # type: ignore[arg-type]
    assert handle.describes == 4
