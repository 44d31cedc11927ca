"""GET /runs/{id}/report for a run that wrote its report as claims: JSON and HTML come from the
ReportDoc (never from its Markdown), hostile text stays text, and status carries the counts.

No Temporal server: the API's client is a fake whose run answers with a view the test wrote,
next to artifacts the test wrote (tests/helpers/claims_report.py).
"""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from api.deps import get_temporal_client
from api.main import create_app
from api.views import memo_view
from domain.report import ReportDoc
from domain.run import PendingInput, RunStatus, RunView, Stage
from providers.artifacts import ArtifactStore
from settings import Settings
from tests.helpers.claims_report import (
    HOSTILE,
    QUOTE_1,
    QUOTE_2,
    SOURCES_JSON,
    FakeRunsClient,
    report_doc,
    write_claims_run,
)

RUN = "/api/v1/runs/r-claims"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(temporal_address="127.0.0.1:1", data_dir=tmp_path)


@pytest.fixture
def view(settings: Settings) -> RunView:
    return write_claims_run(ArtifactStore(settings.artifacts_dir), "r-claims")


@pytest.fixture
async def api(settings: Settings, view: RunView) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    app.dependency_overrides[get_temporal_client] = lambda: FakeRunsClient(view)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        yield http


class Elements(HTMLParser):
    """Every element and attribute a browser would build from the markup."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self.feed(markup)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes |= {name for name, _ in attrs}


def assert_inert(markup: str) -> None:
    """The hostile markup is text (or an attribute's value), never an element or a handler."""
    found = Elements(markup)
    assert not found.tags & {"script", "img", "b", "i", "em"}, found.tags
    assert not any(name.startswith("on") for name in found.attributes), found.attributes


async def test_json_carries_claims_evidence_support_and_the_old_fields(
    api: httpx.AsyncClient,
) -> None:
    resp = await api.get(f"{RUN}/report", params={"format": "json"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["structured"] is True and body["checked"] is True
    doc = report_doc()
    # Today's fields are still there: the Markdown as saved, HTML, sections and citations.
    assert body["markdown"] == doc.to_markdown()
    assert [(s["title"], s["level"], s["citations"]) for s in body["sections"]] == [
        (f"Grid storage {HOSTILE}", 1, []),
        (f"Methods {HOSTILE}", 2, [1]),
        ("Costs", 2, [2, 1]),
        ("Sources", 2, [1, 2]),
    ]
    assert body["sections"][2]["claim_ids"] == ["s2c1"]
    assert [c["id"] for c in body["claims"]] == ["s1c1", "s2c1"]
    first, second = body["claims"]
    assert first["text"].endswith(HOSTILE) and first["section"] == f"Methods {HOSTILE}"
    assert (first["support"], first["score"], first["citations"]) == ("supported", 0.93, [1])
    assert first["evidence"][0] == {
        "source": 1,
        "passage_id": "p1",
        "quote": QUOTE_1,
        "start": 12,
        "end": 12 + len(QUOTE_1),
    }
    assert second["citations"] == [2, 1] and second["evidence"][0]["quote"] == QUOTE_2
    (removed,) = body["removed"]
    assert (removed["id"], removed["support"]) == ("s2c2", "unsupported")
    assert removed["reason"].startswith("quote not found")
    # Citations and the cited-passage count come from the evidence, not sources.json's flags.
    assert body["counts"] == {"claims": 2, "supported": 2, "removed": 1, "cited_passages": 2}
    assert [(c["number"], [p["id"] for p in c["passages"]]) for c in body["citations"]] == [
        (1, ["p1"]),
        (2, ["p2"]),
    ]
    assert QUOTE_1 in body["citations"][0]["passages"][0]["text"]
    assert body["citations"][0]["sections"] == [f"Methods {HOSTILE}", "Costs"]
    assert body["plan_items_uncovered"] == [3] and body["sources"] == SOURCES_JSON


async def test_json_html_shows_claims_with_quote_buttons_and_nothing_runs(
    api: httpx.AsyncClient,
) -> None:
    page = (await api.get(f"{RUN}/report", params={"format": "json"})).json()["html"]
    assert_inert(page)
    assert html.escape(HOSTILE, quote=False) in page  # the text is still there, as text
    buttons = re.findall(r"<button[^>]*>", page)
    assert len(buttons) == 4  # one per piece of evidence, removed claim included
    # The exact quote rides on the button (escaped), with the passage it comes from.
    assert f'data-quote="{html.escape(QUOTE_1)}"' in buttons[0]
    assert 'class="cite"' in buttons[0] and 'data-cite="1"' in buttons[0]
    assert 'data-passage="p1"' in buttons[0]
    assert '<li class="claim" id="claim-s1c1" data-claim="s1c1" data-support="supported">' in page
    assert '<span class="support support-supported"' in page
    assert "2 claims, 2 supported, 1 removed" in page
    # Removed claims are collapsed, with their reason.
    removed = page[page.index('<details class="removed">') :]
    assert "Flywheels power whole cities." in removed and "quote not found" in removed
    assert "Flywheels" not in page[: page.index('<details class="removed">')]


async def test_standalone_html_opens_quotes_without_script(api: httpx.AsyncClient) -> None:
    resp = await api.get(f"{RUN}/report", params={"format": "html"})
    assert resp.status_code == 200
    assert resp.headers["content-security-policy"].startswith("default-src 'none'")
    page = resp.text
    body = page[page.index("<body>") :]
    assert_inert(body)
    assert "<title>How is grid energy stored? &lt;script&gt;" in page
    assert f"{html.escape(QUOTE_1, quote=False)}</blockquote>" in body
    assert '<summary data-cite="1" data-passage="p1">[1]</summary>' in body
    # The sources list: the cited ones, each with the passages the evidence names.
    assert '<li id="source-1" value="1"><strong>Pumped &lt;em&gt;hydro&lt;/em&gt;</strong>' in body
    assert 'data-passage="p1">Intro text.' in body and "Unrelated passage" not in body
    assert "Flywheels store energy briefly" not in body  # only a removed claim cited it


async def test_markdown_is_the_saved_rendering(api: httpx.AsyncClient) -> None:
    resp = await api.get(f"{RUN}/report")
    assert resp.status_code == 200
    assert resp.text == report_doc().to_markdown()
    assert resp.headers["content-type"].startswith("text/markdown")


async def test_a_report_json_that_is_no_report_doc_is_an_error_not_a_guess(
    api: httpx.AsyncClient, settings: Settings, view: RunView
) -> None:
    ArtifactStore(settings.artifacts_dir).write_json(view.report_json_ref or "", {"x": 1})
    resp = await api.get(f"{RUN}/report", params={"format": "json"})
    assert resp.status_code == 500 and resp.json()["error_code"] == "report_unreadable"


async def test_status_carries_the_claim_counts(api: httpx.AsyncClient) -> None:
    for params in ({}, {"pending_html": "true"}):
        view = (await api.get(RUN, params=params)).json()
        assert view["report_json_ref"] == "r-claims/report-r0.json"
        progress = view["progress"]
        assert (progress["claims"], progress["claims_supported"]) == (2, 2)
        assert progress["claims_unsupported"] == 1


def test_doc_round_trips_through_its_artifact(view: RunView, settings: Settings) -> None:
    raw = ArtifactStore(settings.artifacts_dir).read_json(view.report_json_ref or "")
    assert ReportDoc.model_validate(raw) == report_doc()


class MemoOnly:
    """An execution as describe() or visibility gives it: only its memo (no worker to query)."""

    def __init__(self, view: RunView) -> None:
        self.id, self.memo = f"research-{view.run_id}", view.model_dump(mode="json")

    async def memo_value(self, key: str, default: object) -> object:
        return self.memo


async def test_the_memo_fallback_keeps_the_claim_counts(view: RunView) -> None:
    restored = await memo_view(MemoOnly(view))  # type: ignore[arg-type]
    assert restored is not None and restored.progress == view.progress
    assert restored.progress.claims_unsupported == 1
    assert restored.report_json_ref == view.report_json_ref


def under_review(view: RunView, artifact_ref: str | None) -> RunView:
    pending = PendingInput(
        kind="report", since=view.created_at, deadline=view.created_at, artifact_ref=artifact_ref
    )
    return view.model_copy(
        update={
            "status": RunStatus.awaiting_input,
            "stage": Stage.report_review,
            "pending": pending,
            "finished_at": None,
        }
    )


async def pending_view(settings: Settings, view: RunView, **params: str) -> dict[str, object]:
    app = create_app(settings)
    app.dependency_overrides[get_temporal_client] = lambda: FakeRunsClient(view)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        resp = await http.get(RUN, params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()["pending"]


async def test_a_report_under_review_shows_its_claims_on_the_page(
    settings: Settings, view: RunView
) -> None:
    reviewing = under_review(view, view.report_ref)
    pending = await pending_view(settings, reviewing, pending_html="true")
    page = str(pending["content_html"])
    assert 'data-quote="' in page and "2 claims, 2 supported, 1 removed" in page
    assert_inert(page)
    assert pending["content"] == report_doc().to_markdown()  # the Markdown is still there
    # Other clients (no pending_html) see the same JSON as before.
    assert "content_html" not in await pending_view(settings, reviewing)


async def test_a_review_of_another_revision_keeps_the_markdown(
    settings: Settings, view: RunView
) -> None:
    # The run's report JSON is revision 0, the report under review revision 1: no mix-up.
    store = ArtifactStore(settings.artifacts_dir)
    ref = store.write_text("r-claims/report-r1.md", "# Revised\n\nBatteries [1].\n")
    pending = await pending_view(settings, under_review(view, ref), pending_html="true")
    page = str(pending["content_html"])
    assert "data-quote" not in page and "<h2>Revised</h2>" in page
