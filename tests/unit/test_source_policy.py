"""A run's source policy: domain matching, validation, pinned paths, and the date window as each
web provider is sent it (domain/source_policy.py, providers/pinned.py, providers/time_range.py)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from activities.search import SearchActivities
from api.errors import ApiError
from api.schemas import RunOptionsBody
from api.source_policy import check_pinned_paths
from domain.calls import ProviderSearchRequest
from domain.run import RunOptions
from domain.source_policy import DateWindow, SourcePolicy, domain_matches, host_of
from providers.pinned import locate
from providers.time_range import brave_freshness, searxng_time_range
from providers.web_search import BraveProvider, SearxngProvider, TavilyProvider
from settings import Settings

TODAY = date(2026, 6, 15)


@pytest.mark.parametrize(
    ("host", "domain", "matches"),
    [
        ("example.org", "example.org", True),
        ("sub.example.org", "example.org", True),
        ("a.b.Example.ORG", "example.org", True),
        ("badexample.org", "example.org", False),
        ("example.org.evil.com", "example.org", False),
        ("127.0.0.1", "127.0.0.1", True),
        ("1.0.0.1", "0.0.1", False),  # IP addresses never match by suffix
        ("127.0.0.1", "0.0.1", False),
    ],
)
def test_domains_match_by_suffix_on_label_boundaries(host: str, domain: str, matches: bool) -> None:
    assert domain_matches(host, domain) is matches


def test_domains_are_normalised_and_refusals_say_why() -> None:
    policy = SourcePolicy(allow_domains=["Example.ORG.", "127.0.0.1"], deny_domains=["bad.org"])
    assert policy.allow_domains == ["example.org", "127.0.0.1"]
    assert policy.refusal("https://docs.example.org/a?b=1") is None
    assert policy.refusal("http://127.0.0.1:8080/x") is None
    assert policy.refusal("https://other.net/") == "other.net is not in the allow list"
    deny = SourcePolicy(allow_domains=["bad.org"], deny_domains=["bad.org"])
    assert deny.refusal("https://www.bad.org/") == "www.bad.org is in the deny list (bad.org)"
    assert SourcePolicy().refusal("https://anything.example/") is None
    assert host_of("HTTPS://WWW.Example.org:443/p") == "www.example.org"


@pytest.mark.parametrize(
    "bad", ["https://example.org", "example.org/path", "example.org:8080", "ex ample.org", "-a.org"]
)
def test_a_domain_with_a_scheme_path_port_or_bad_label_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError):
        SourcePolicy(deny_domains=[bad])


@pytest.mark.parametrize("bad", ["../secrets.md", "docs/../../etc/passwd", "ftp://x.org/f", ""])
def test_a_pinned_entry_must_be_a_web_url_or_a_path_that_stays_in_its_folder(bad: str) -> None:
    with pytest.raises(ValidationError):
        SourcePolicy(pinned=[bad])


def test_pinned_entries_split_into_urls_and_paths_and_the_window_is_ordered() -> None:
    policy = SourcePolicy(pinned=["https://a.org/x", "flow-batteries.md"])
    assert policy.pinned_urls == ["https://a.org/x"]
    assert policy.pinned_paths == ["flow-batteries.md"]
    assert policy.window is None
    with pytest.raises(ValidationError, match="later than"):
        SourcePolicy(published_after=date(2026, 2, 1), published_before=date(2026, 1, 1))


def test_the_rest_body_forbids_unknown_policy_fields_and_run_options_keep_the_policy() -> None:
    with pytest.raises(ValidationError):
        RunOptionsBody.model_validate({"source_policy": {"deny_domain": ["a.org"]}})
    body = RunOptionsBody.model_validate({"source_policy": {"deny_domains": ["A.org"]}})
    options = RunOptions.model_validate(body.model_dump())
    assert options.source_policy is not None and options.source_policy.deny_domains == ["a.org"]


def test_pinned_paths_are_found_inside_the_folders_and_refused_outside(tmp_path: Path) -> None:
    docs, other = tmp_path / "docs", tmp_path / "other"
    (docs / "sub").mkdir(parents=True)
    other.mkdir()
    (docs / "sub" / "a.md").write_text("# A")
    (other / "secret.md").write_text("# S")
    (docs / "link.md").symlink_to(other / "secret.md")
    folders = [docs]
    assert locate("sub/a.md", folders) == (docs / "sub" / "a.md").resolve()
    assert locate("docs/sub/a.md", folders) == (docs / "sub" / "a.md").resolve()  # by name
    assert locate(str(docs / "sub" / "a.md"), folders) == (docs / "sub" / "a.md").resolve()
    assert locate("missing.md", folders) == (docs / "missing.md").resolve()  # read fails later
    assert locate(str(other / "secret.md"), folders) is None
    assert locate("link.md", folders) is None  # a link out of the folder is outside it
    settings = Settings(docs_dirs=folders)
    inside = RunOptions(source_policy=SourcePolicy(pinned=["sub/a.md", "https://a.org/"]))
    check_pinned_paths(inside, settings)
    outside = RunOptions(source_policy=SourcePolicy(pinned=[str(other / "secret.md")]))
    with pytest.raises(ApiError) as caught:
        check_pinned_paths(outside, settings)
    assert caught.value.status == 422 and caught.value.error_code == "pinned_path_outside_folders"


def test_brave_gets_the_window_as_a_date_range() -> None:
    window = DateWindow(published_after=date(2026, 1, 1), published_before=date(2026, 3, 31))
    assert brave_freshness(window, TODAY) == "2026-01-01to2026-03-31"
    assert brave_freshness(DateWindow(published_after=date(2026, 1, 1)), TODAY) == (
        "2026-01-01to2026-06-15"
    )
    assert brave_freshness(DateWindow(published_before=date(2020, 1, 1)), TODAY) == (
        "1970-01-01to2020-01-01"
    )
    assert brave_freshness(DateWindow(), TODAY) is None


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (date(2026, 6, 15), "day"),
        (date(2026, 6, 14), "day"),
        (date(2026, 6, 1), "month"),
        (date(2026, 5, 15), "month"),
        (date(2025, 7, 1), "year"),
        (date(2024, 1, 1), None),  # more than a year back: no value covers it
        (None, None),  # only an end: SearXNG cannot say it
    ],
)
def test_searxng_gets_the_smallest_time_range_that_covers_the_start(
    after: date | None, expected: str | None
) -> None:
    window = DateWindow(published_after=after, published_before=date(2026, 6, 1))
    assert searxng_time_range(window, TODAY) == expected


async def test_providers_send_the_window_and_say_when_they_cannot() -> None:
    sent: list[httpx.QueryParams] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.params)
        return httpx.Response(200, json={"results": [], "web": {"results": []}})

    def mock() -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(handler))

    searx = SearxngProvider("http://searx.test", client=mock())
    brave = BraveProvider("key", client=mock())
    tavily = TavilyProvider("key", client=mock())
    activities = SearchActivities([searx, brave, tavily])
    recent = DateWindow(published_after=date.today())
    results = {}
    for name in ("searxng", "brave", "tavily"):
        req = ProviderSearchRequest(provider=name, query="grid", limit=3, window=recent)
        results[name] = await activities.provider(req)
    assert sent[0]["time_range"] == "day"
    assert sent[1]["freshness"].startswith(date.today().isoformat() + "to")
    assert not results["searxng"].window_ignored and not results["brave"].window_ignored
    assert results["tavily"].window_ignored
    # Without a window nothing changes: no parameter sent, nothing ignored.
    plain = await activities.provider(ProviderSearchRequest(provider="searxng", query="grid"))
    assert "time_range" not in sent[-1] and not plain.window_ignored


def test_a_path_the_file_system_cannot_name_is_outside_not_an_error(tmp_path: Path) -> None:
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    assert locate("x" * 300 + ".md", [tmp_path]) == (tmp_path / ("x" * 300 + ".md")).resolve()
    assert locate("loop/a.md", [tmp_path]) is None  # resolving a symlink loop raises inside
