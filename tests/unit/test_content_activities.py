"""Search, read and artifact activities, run in Temporal's ActivityEnvironment (no server)."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.artifacts import ArtifactActivities
from activities.read import ReadActivities
from activities.search import SearchActivities
from domain.calls import ReadRequest, SaveJson, SearchRequest
from domain.sources import SearchHit
from providers.artifacts import ArtifactStore, source_key
from providers.local_index import LocalIndex
from providers.search import LocalDocsProvider

BODY = "# Flywheels\n\nA flywheel stores kinetic energy in a spinning rotor.\n\nIt responds fast.\n"


@pytest.fixture
def setup(tmp_path: Path) -> tuple[LocalIndex, ArtifactStore, Path]:
    docs = tmp_path / "docs"
    docs.mkdir()
    doc = docs / "flywheels.md"
    doc.write_text(BODY)
    index = LocalIndex(tmp_path / "index.sqlite")
    index.sync([docs])
    return index, ArtifactStore(tmp_path / "artifacts"), doc.resolve()


async def test_search_activity(setup: tuple[LocalIndex, ArtifactStore, Path]) -> None:
    index, _, doc = setup
    acts = SearchActivities([LocalDocsProvider(index)])
    result = await ActivityEnvironment().run(acts.search, SearchRequest(query="rotor", limit=3))
    assert [h.source_id for h in result.hits] == [str(doc)]


async def test_read_source_stores_text_and_returns_passages(
    setup: tuple[LocalIndex, ArtifactStore, Path],
) -> None:
    index, store, doc = setup
    hit = index.search("flywheel", 1)[0]
    acts = ReadActivities(index, store)
    req = ReadRequest(run_id="r1", hit=hit, query="kinetic rotor", max_passages=2)
    first = await ActivityEnvironment().run(acts.read_source, req)
    assert first.artifact_ref == source_key("r1", str(doc))
    assert store.read_text(first.artifact_ref) == index.document_text(str(doc))
    assert first.chars == len(index.document_text(str(doc)))
    assert (first.title, first.url, first.provider) == ("Flywheels", doc.as_uri(), "local")
    assert first.passages[0].id == "p0" and "kinetic" in first.passages[0].text
    # A retried activity produces the same result and the same artifact.
    assert await ActivityEnvironment().run(acts.read_source, req) == first


async def test_read_source_errors_are_non_retryable(
    setup: tuple[LocalIndex, ArtifactStore, Path],
) -> None:
    index, store, doc = setup
    acts = ReadActivities(index, store)
    web = SearchHit(source_id="https://e.org", title="t", url="https://e.org", provider="web")
    with pytest.raises(ApplicationError) as err:
        await ActivityEnvironment().run(
            acts.read_source, ReadRequest(run_id="r", hit=web, query="q")
        )
    assert (err.value.type, err.value.non_retryable) == ("unsupported_source", True)

    hit = index.search("flywheel", 1)[0]
    doc.unlink()
    with pytest.raises(ApplicationError) as err:
        await ActivityEnvironment().run(
            acts.read_source, ReadRequest(run_id="r", hit=hit, query="q")
        )
    assert (err.value.type, err.value.non_retryable) == ("source_not_found", True)
    assert not store.exists(source_key("r", hit.source_id))


async def test_save_json(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    acts = ArtifactActivities(store)
    env = ActivityEnvironment()
    key = await env.run(acts.save_json, SaveJson(run_id="r1", name="run.json", data={"a": [1]}))
    assert key == "runs/r1/run.json"
    assert store.read_json(key) == {"a": [1]}
    for name in ["../x.json", "sub/run.json", ".hidden", "", "a\\b.json"]:
        with pytest.raises(ApplicationError) as err:
            await env.run(acts.save_json, SaveJson(run_id="r1", name=name, data={}))
        assert (err.value.type, err.value.non_retryable) == ("bad_artifact_name", True), name
    with pytest.raises(ApplicationError) as err:
        await env.run(acts.save_json, SaveJson(run_id="../r", name="run.json", data={}))
    assert err.value.type == "bad_artifact_name"
