"""`research doctor` against the test stack: what is up says ok, what is down says why."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rich.console import Console

from cli.doctor import render, run_checks
from settings import Settings
from tests.fakes.llm_server import FakeLLM
from tests.fakes.web_server import StubWeb
from tests.helpers.stack import free_port


@pytest.fixture(scope="module")
def web() -> Iterator[StubWeb]:
    stub = StubWeb().start()
    stub.searxng_results = [{"url": "https://example.org/a", "title": "A", "content": ""}]
    yield stub
    stub.stop()


async def test_everything_up(settings: Settings, llm: FakeLLM, web: StubWeb) -> None:
    configured = settings.model_copy(
        update={"search_providers": ["local", "searxng"], "searxng_url": web.base_url}
    )
    checks = {c.name: c for c in await run_checks(configured, timeout_s=5)}
    assert set(checks) == {"temporal", "llm", "search: searxng", "documents", "data dir"}
    assert all(c.ok for c in checks.values()), checks
    assert checks["search: searxng"].detail.startswith("1 hit(s)")


async def test_down_and_unconfigured_are_reported(settings: Settings, tmp_path) -> None:
    broken = settings.model_copy(
        update={
            "temporal_address": f"127.0.0.1:{free_port()}",
            "llm_base_url": f"http://127.0.0.1:{free_port()}/v1",
            "search_providers": ["local", "searxng", "tavily"],
            "searxng_url": f"http://127.0.0.1:{free_port()}",
            "docs_dirs": [tmp_path / "missing"],
        }
    )
    checks = {c.name: c for c in await run_checks(broken, timeout_s=2)}
    down = {name for name, c in checks.items() if not c.ok}
    assert down == {"temporal", "llm", "search: searxng", "search: tavily", "documents"}
    assert checks["search: tavily"].detail == "RESEARCH_TAVILY_API_KEY is not set"
    assert "provider_unavailable" in checks["search: searxng"].detail
    console = Console(record=True, width=200)
    render(list(checks.values()), console)
    text = console.export_text()
    assert text.count("DOWN") == 5 and "RESEARCH_TAVILY_API_KEY" in text


def test_providers_come_from_settings(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from providers.local_index import LocalIndex
    from providers.registry import ProviderConfigError, build_search_providers

    monkeypatch.setenv("RESEARCH_SEARCH_PROVIDERS", "Local, searxng,duckduckgo, searxng")
    monkeypatch.setenv("RESEARCH_SEARXNG_URL", "http://searx:8080")
    configured = Settings(_env_file=None)
    assert configured.search_providers == ["local", "searxng", "duckduckgo"]
    index = LocalIndex(tmp_path / "i.sqlite")
    assert [
        p.name for p in build_search_providers(configured, index)
    ] == configured.search_providers
    assert [
        p.name
        for p in build_search_providers(Settings(_env_file=None, search_providers=["local"]), index)
    ] == ["local"]
    with pytest.raises(ProviderConfigError, match="brave needs RESEARCH_BRAVE_API_KEY"):
        build_search_providers(configured.model_copy(update={"search_providers": ["brave"]}), index)
