"""Seed 002's pieces without a server: the folder filter of the local index, the payload log's
redaction, the status table and the unattended rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from activities.llm_log import REDACTED, redact
from api.errors import ApiError
from api.schemas import CreateRunRequest
from api.seed_runs import SEED_STATUS, run_options
from domain.run import RunStatus
from providers.extract import extract
from providers.local_index import LocalIndex
from providers.search import LocalDocsProvider, UnknownFolderError
from settings import Settings


def two_folders(tmp_path: Path) -> tuple[LocalIndex, Path, Path]:
    a, b = tmp_path / "alpha", tmp_path / "beta"
    for folder in (a, b):
        folder.mkdir()
        (folder / "grid.md").write_text(f"# Grid {folder.name}\n\nBatteries store grid energy.\n")
    index = LocalIndex(tmp_path / "index.sqlite")
    index.sync([a, b], extract)
    return index, a, b


def test_a_folder_restricts_local_search(tmp_path: Path) -> None:
    index, a, _ = two_folders(tmp_path)
    assert len(index.search("batteries grid", 10)) == 2
    only_a = index.search("batteries grid", 10, under=a)
    assert [Path(hit.source_id).parent for hit in only_a] == [a.resolve()]


async def test_the_provider_resolves_folders_by_name(tmp_path: Path) -> None:
    index, a, b = two_folders(tmp_path)
    provider = LocalDocsProvider(index, [a, b])
    hits = await provider.search("batteries", 10, "beta")
    assert [Path(hit.source_id).parent for hit in hits] == [b.resolve()]
    with pytest.raises(UnknownFolderError, match="alpha, beta"):
        await provider.search("batteries", 10, "gamma")


def test_redaction_hides_configured_and_credential_shaped_secrets() -> None:
    text = "key sk-abcdefghijklmnop12 and Bearer abc.def.ghi123 api_key=hunter2 http://u:pw@h/ mine"
    clean = redact(text, ["mine"])
    for secret in ("sk-abcdefghijklmnop12", "abc.def.ghi123", "hunter2", "u:pw", "mine"):
        assert secret not in clean
    assert clean.count(REDACTED) == 5 and "api_key=" in clean


def test_every_status_maps_to_one_of_the_six() -> None:
    assert set(SEED_STATUS) == set(RunStatus)
    assert set(SEED_STATUS.values()) == {
        "queued",
        "running",
        "completed",
        "completed_with_gaps",
        "failed",
        "stopped",
    }


def test_seed_triggers_are_unattended_and_options_keep_asking(tmp_path: Path) -> None:
    settings = Settings(docs_dirs=[tmp_path / "documents"], llm_api_key=SecretStr("x"))
    seed = run_options(CreateRunRequest(question="q", markdown_path="documents"), settings)
    assert not (seed.clarify or seed.require_acceptance or seed.require_plan_approval)
    assert seed.docs_folder == "documents"
    body = CreateRunRequest(question="q", log_llm_payload=True, options={})
    attended = run_options(body, settings)
    assert attended.clarify and attended.require_acceptance and attended.log_llm_payload
    plain = run_options(CreateRunRequest(question="q"), settings)
    assert plain.clarify and plain.require_acceptance
    with pytest.raises(ApiError) as err:
        run_options(CreateRunRequest(question="q", options={"docs_folder": "nope"}), settings)
    assert err.value.error_code == "unknown_markdown_path"
