"""Grading a finished run from its artifacts: report.json when written, report.md when not."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from bench.evalset import EvalQuestion
from bench.quality_runs import grade_artifacts
from domain.report import Claim, Evidence, ReportDoc, ReportSection
from domain.run import RunStatus, RunView, Stage

Q = EvalQuestion(
    id="water-rapid",
    question="How is a rapid sand filter cleaned?",
    relevant=["water-rapid-filter.md"],
    key_facts=["backwash", ["head loss", "pressure loss"], "breakthrough"],
)
SOURCES = [
    {
        "number": 1,
        "source_id": "/corpus/water-rapid-filter.md",
        "title": "Rapid filters",
        "passages": [
            {"id": "p1", "text": "Rapid filters are cleaned by backwash when head loss grows."},
            {"id": "p2", "text": "Chlorine is dosed after the filters."},
        ],
    },
    {"number": 2, "source_id": "/corpus/soil-clay.md", "title": "Clay", "passages": []},
]


def view(**refs: str) -> RunView:
    now = datetime.now(UTC)
    return RunView(
        run_id="r", question=Q.question, status=RunStatus.completed, stage=Stage.finished,
        created_at=now, updated_at=now, finished_at=now, **refs,
    )  # fmt: skip


def store_with(tmp_path: Path, **files: str) -> Path:
    folder = tmp_path / "runs" / "r"
    folder.mkdir(parents=True)
    (folder / "sources.json").write_text(json.dumps(SOURCES))
    for name, text in files.items():
        (folder / name.replace("_", ".")).write_text(text)
    return tmp_path


def test_a_report_json_is_graded_by_its_claims_evidence(tmp_path: Path) -> None:
    good = Claim(
        id="s1c1",
        text="Rapid filters are cleaned by backwash when head loss grows.",
        evidence=[Evidence(source=1, passage_id="p1")],
    )
    # True of source 1, but its evidence names p2: the independent check refuses it.
    wrong_passage = good.model_copy(
        update={"id": "s1c2", "evidence": [Evidence(source=1, passage_id="p2")]}
    )
    unread = good.model_copy(
        update={"id": "s1c3", "evidence": [Evidence(source=9, passage_id="p1")]}
    )
    doc = ReportDoc(
        question=Q.question,
        title="Rapid filters",
        sections=[ReportSection(heading="Cleaning", claims=[good, wrong_passage, unread])],
        removed=[good.model_copy(update={"id": "x", "support": "unsupported"})],
    )
    store = store_with(tmp_path, report_json=doc.model_dump_json())
    refs = {"report_json_ref": "runs/r/report.json", "sources_ref": "runs/r/sources.json"}
    g = grade_artifacts(store, view(**refs), Q, 12.0)
    assert (g.report_format, g.claims, g.supported, g.unread_citations) == ("json", 3, 1, 1)
    assert (g.facts, g.facts_found, g.removed_by_gate) == (3, 2, 1)
    assert g.right_document and g.junk == [] and g.status == "completed"


def test_without_report_json_the_markdown_is_split_into_sentences(tmp_path: Path) -> None:
    md = (
        "# Rapid filters\n\nA filter is a bed of sand.\n\n## 1\n\n"
        "Rapid filters are cleaned by backwash when head loss grows. [1]\n\n"
        "## Sources\n\n[1] Rapid filters — /corpus/water-rapid-filter.md\n"
    )
    store = store_with(tmp_path, report_md=md)
    refs = {"report_ref": "runs/r/report.md", "sources_ref": "runs/r/sources.json"}
    g = grade_artifacts(store, view(**refs), Q, 12.0)
    assert (g.report_format, g.claims, g.supported, g.unread_citations) == ("markdown", 2, 1, 0)
    assert g.junk == ["## 1"] and g.facts_found == 2
