"""A finished run's report as real artifacts: a checked ReportDoc with two claims (Unicode and
markup in them), one removed claim, two sources (one web URL, one local path) with their
passages and full texts. For the export tests (tests/unit/test_exports.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.report import Claim, Evidence, ReportDoc, ReportSection
from domain.run import RunStatus, RunView, Stage, Usage
from domain.sources import CitedSource
from providers.artifacts import ArtifactStore, run_key, source_key

KARIKO = "Karikó and Weissman showed modified uridine lowers immunogenicity ≥ 10 (αβγ)."
SOURCE_URL = "https://example.org/mrna?a=1&b=2"
TEXTS = {1: "Full text of the first source, Karikó 2005.", 2: "Second source text <b>raw</b>."}
SOURCES = [
    {
        "number": n,
        "source_id": f"doc-{n}",
        "title": f"Source {n} <title>",
        "url": SOURCE_URL if n == 1 else "corpus/local.md",
        "provider": "local",
        "artifact_ref": source_key("r1", f"doc-{n}"),
        "chars": len(TEXTS[n]),
        "passages": [{"id": "p1", "text": f"passage one of {n}", "cited": True}],
        "notes": [],
    }
    for n in (1, 2)
]


def report_doc() -> ReportDoc:
    return ReportDoc(
        question="What did Karikó find?",
        title="mRNA & the immune system",
        notice="Checked against the passages <script>alert(1)</script>",
        lead="A short lead.",
        plan_items=["findings"],
        sections=[
            ReportSection(
                heading="Findings",
                claims=[
                    Claim(id="s1c1", text=KARIKO, evidence=[Evidence(source=1, passage_id="p1")]),
                    Claim(
                        id="s1c2",
                        text="A second claim <b>not bold</b>.",
                        evidence=[Evidence(source=2, passage_id="p1", quote="one")],
                    ),
                ],
            )
        ],
        removed=[Claim(id="s1c3", text="Dropped.", support="unsupported", reason="no passage")],
        sources=[
            CitedSource(
                number=s["number"], source_id=s["source_id"], title=s["title"], url=s["url"]
            )
            for s in SOURCES
        ],
        checked=True,
    )


def stored_view(store: ArtifactStore, *, with_json: bool) -> RunView:
    doc = report_doc()
    for s in SOURCES:
        store.write_text(s["artifact_ref"], TEXTS[s["number"]])
    now = datetime.now(UTC)
    return RunView(
        run_id="r1",
        question=doc.question,
        status=RunStatus.completed,
        stage=Stage.finished,
        created_at=now - timedelta(minutes=3),
        updated_at=now,
        finished_at=now,
        usage=Usage(llm_calls=4, prompt_tokens=1000, completion_tokens=200, cost_usd=0.01),
        report_ref=store.write_text(run_key("r1", "report.md"), doc.to_markdown()),
        report_json_ref=(
            store.write_json(run_key("r1", "report.json"), doc.model_dump(mode="json"))
            if with_json
            else None
        ),
        sources_ref=store.write_json(run_key("r1", "sources.json"), SOURCES),
    )
