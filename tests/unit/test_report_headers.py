"""A served report cannot run or load anything, and a crafted link stays one anchor (issue 13,
item 9). No server: the run's view is stubbed, the report is a real artifact in a temp store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from api.deps import get_run_handle
from api.main import create_app
from api.routes import run_outputs
from api.web import SECURITY_HEADERS
from domain.run import RunStatus, RunView, Stage
from providers.artifacts import ArtifactStore, run_key
from settings import Settings

REPORT_URL = "/api/v1/runs/r1/report"
# Quotes, angle brackets and an event handler inside a link's destination and text: if the URL
# were pasted into the markup, the anchor would grow an onmouseover or a second element.
CRAFTED = (
    '# Findings\n\nSee [the source](https://example.com/a"onmouseover="alert(1)) and '
    '[x](<https://example.com/"><script>alert(2)</script>>) and '
    "[y](javascript:alert(3)).\n"
)


class Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.anchors: list[list[tuple[str, str | None]]] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if tag == "a":
            self.anchors.append(attrs)


@pytest.fixture
async def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(api_keys=SecretStr(""), data_dir=tmp_path)
    app = create_app(settings)
    store = ArtifactStore(settings.artifacts_dir)
    ref = store.write_text(run_key("r1", "report.md"), CRAFTED)
    now = datetime.now(UTC)
    view = RunView(
        run_id="r1",
        question="q",
        status=RunStatus.completed,
        stage=Stage.finished,
        created_at=now,
        updated_at=now,
        report_ref=ref,
    )

    async def finished(*_: object) -> tuple[RunView, str]:
        return view, "memo"

    monkeypatch.setattr(run_outputs, "resolve_run_view", finished)
    app.state.artifacts = store
    app.dependency_overrides[get_run_handle] = lambda: None
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        yield http


async def test_html_report_is_served_with_a_closed_csp_and_nosniff(api: httpx.AsyncClient) -> None:
    response = await api.get(REPORT_URL, params={"format": "html"})
    assert response.status_code == 200, response.text
    csp = [part.strip() for part in response.headers["content-security-policy"].split(";")]
    assert "default-src 'none'" in csp and "style-src 'unsafe-inline'" in csp
    assert not any("script-src" in part or "'self'" in part for part in csp)
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("fmt", ["md", "json"])
async def test_other_report_formats_are_not_sniffed(api: httpx.AsyncClient, fmt: str) -> None:
    response = await api.get(REPORT_URL, params={"format": fmt})
    assert response.status_code == 200, response.text
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_a_crafted_link_cannot_break_the_anchor(api: httpx.AsyncClient) -> None:
    for html in (
        (await api.get(REPORT_URL, params={"format": "html"})).text,
        (await api.get(REPORT_URL, params={"format": "json"})).json()["html"],
    ):
        parser = Anchors()
        parser.feed(html)
        assert "script" not in parser.tags
        for attrs in parser.anchors:
            names = {name for name, _ in attrs}
            assert not any(name.startswith("on") for name in names), attrs
            href = dict(attrs).get("href") or ""
            assert not href.lower().startswith("javascript:"), attrs


def test_the_page_csp_limits_form_targets() -> None:
    csp = [part.strip() for part in SECURITY_HEADERS["Content-Security-Policy"].split(";")]
    assert "form-action 'self'" in csp
