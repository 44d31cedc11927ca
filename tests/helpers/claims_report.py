"""A finished run whose report was written as claims (domain/report.py), for the read side's
tests: its artifacts written by the test, and a Temporal client whose run answers with its view.

The claims, quotes, reasons and titles are hostile on purpose (markup, script, quotes, rich
markup): every format must show them as text. The sources.json marks no passage `cited`, so a
count of cited passages can only be right if it comes from the claims' evidence.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from api.main import create_app
from domain.report import Claim, Evidence, ReportDoc, ReportSection
from domain.run import Progress, RunStatus, RunView, Stage
from domain.sources import CitedSource
from providers.artifacts import ArtifactStore
from settings import Settings
from tests.helpers.frontends import api_in_loop

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)> [bold]rich[/bold] & "q"'
QUOTE_1 = 'Pumped hydro holds 90% of stored energy <b>"worldwide"</b>'
QUOTE_2 = "Lithium-ion battery costs fell by 89% in a decade"
PASSAGE_1 = f"Intro text. {QUOTE_1}. More text."
PASSAGE_2 = f"{QUOTE_2}, analysts say."
SUPPORTED = Claim(
    id="s1c1",
    text=f"Pumped hydro stores most grid energy {HOSTILE}",
    evidence=[Evidence(source=1, passage_id="p1", quote=QUOTE_1, start=12, end=12 + len(QUOTE_1))],
    plan_item=1,
    support="supported",
    score=0.93,
)
TWO_SOURCES = Claim(
    id="s2c1",
    text="Batteries got much cheaper.",
    evidence=[
        Evidence(source=2, passage_id="p2", quote=QUOTE_2),
        Evidence(source=1, passage_id="p1", quote=QUOTE_1),
    ],
    plan_item=2,
    support="supported",
    score=0.81,
)
REMOVED = Claim(
    id="s2c2",
    text="Flywheels power whole cities.",
    evidence=[Evidence(source=2, passage_id="p3", quote="flywheels <i>cities</i>")],
    support="unsupported",
    score=0.12,
    reason='quote not found in passage p3 <script>"r"</script>',
)
SOURCES_JSON: list[dict[str, Any]] = [
    {
        "number": 1,
        "source_id": "pumped_hydro.md",
        "title": "Pumped <em>hydro</em>",
        "url": "https://example.org/hydro",
        "provider": "local",
        "passages": [
            {"id": "p1", "text": PASSAGE_1, "cited": False},
            {"id": "p2", "text": "Unrelated passage.", "cited": False},
        ],
        "notes": [],
    },
    {
        "number": 2,
        "source_id": "batteries.md",
        "title": "Batteries",
        "url": "local://batteries.md",
        "provider": "local",
        "passages": [
            {"id": "p2", "text": PASSAGE_2, "cited": False},
            {"id": "p3", "text": "Flywheels store energy briefly.", "cited": False},
        ],
        "notes": [],
    },
]


def report_doc() -> ReportDoc:
    return ReportDoc(
        question="How is grid energy stored?",
        title=f"Grid storage {HOSTILE}",
        lead="Storage comes in several forms.",
        notice="Written by a small model; every sentence is quoted from a source.",
        plan_items=["storage methods", "costs", "safety"],
        sections=[
            ReportSection(heading=f"Methods {HOSTILE}", plan_item=1, claims=[SUPPORTED]),
            ReportSection(heading="Costs", plan_item=2, claims=[TWO_SOURCES]),
            ReportSection(heading="Empty", plan_item=3, claims=[]),
        ],
        removed=[REMOVED],
        sources=[
            CitedSource.model_validate({k: s[k] for k in ("number", "source_id", "title", "url")})
            for s in SOURCES_JSON
        ],
        checked=True,
    )


def write_claims_run(store: ArtifactStore, run_id: str) -> RunView:
    """The run's report (JSON and its Markdown) and sources in `store`; its finished view."""
    doc = report_doc()
    return RunView(
        run_id=run_id,
        question=f"How is grid energy stored? {HOSTILE}",
        status=RunStatus.completed_with_gaps,
        stage=Stage.finished,
        created_at=NOW,
        updated_at=NOW,
        finished_at=NOW,
        finish_reason="plan item 3 has no supported claim",
        progress=Progress(claims=2, claims_supported=2, claims_unsupported=1, citations=3),
        report_ref=store.write_text(f"{run_id}/report-r0.md", doc.to_markdown()),
        report_json_ref=store.write_json(f"{run_id}/report-r0.json", doc.model_dump(mode="json")),
        sources_ref=store.write_json(f"{run_id}/sources.json", SOURCES_JSON),
    )


class FakeRunHandle:
    """Answers the status query with a fixed view (the API needs nothing else to serve it)."""

    def __init__(self, view: RunView) -> None:
        self.view = view

    async def query(self, *args: Any, **kwargs: Any) -> RunView:
        return self.view


class FakeRunsClient:
    """A Temporal client for the API whose every run is the one given."""

    namespace = "default"

    def __init__(self, view: RunView) -> None:
        self.view = view

    def get_workflow_handle_for(self, *args: Any, **kwargs: Any) -> FakeRunHandle:
        return FakeRunHandle(self.view)


@contextlib.asynccontextmanager
async def serve_claims_run(data_dir: Path, run_id: str) -> AsyncIterator[str]:
    """The real API on a real port in the test's loop, its one run the claims run; its URL."""
    settings = Settings(temporal_address="127.0.0.1:1", data_dir=data_dir)
    view = write_claims_run(ArtifactStore(settings.artifacts_dir), run_id)
    # lifespan off: it would try to reach a Temporal server, and the fake stands in for one.
    async with api_in_loop(create_app(settings), FakeRunsClient(view), lifespan="off") as url:
        yield url
