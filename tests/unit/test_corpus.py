"""The example corpus the project ships as its default documents."""

from __future__ import annotations

from pathlib import Path

from providers.extract import extract
from providers.local_index import LocalIndex
from settings import EXAMPLE_CORPUS


def test_corpus_shape() -> None:
    documents = [p for p in EXAMPLE_CORPUS.iterdir() if p.name != "LICENSE.md"]
    assert 8 <= len(documents) <= 12
    assert {p.suffix for p in documents} >= {".md", ".txt", ".html"}
    for path in documents:
        words = len(extract(path).text.split())
        assert 300 <= words <= 900, (path.name, words)
    assert "CC0 1.0" in (EXAMPLE_CORPUS / "LICENSE.md").read_text()


def test_questions_find_the_right_document(tmp_path: Path) -> None:
    index = LocalIndex(tmp_path / "index.sqlite")
    stats = index.sync([EXAMPLE_CORPUS])
    assert stats.added == len(list(EXAMPLE_CORPUS.iterdir())) - 1 and not stats.failed
    # The licence describes the folder; it is not a document to cite.
    assert all("Licence" not in hit.title for hit in index.search("licence CC0 public domain", 20))

    cases = {
        "How does a vanadium redox flow battery store energy?": "Flow batteries",
        "What is the coefficient of performance of a heat pump?": "Heat pumps",
        "Why does grid inertia fall as inverters replace synchronous generators?": (
            "Grid inertia and frequency stability"
        ),
        "Huntorf McIntosh compressed air caverns": "compressed-air-energy-storage",
        "hard carbon anode sodium": "Sodium-ion batteries",
        "molten salt concentrating solar power": "Thermal energy storage",
        "thermal runaway in lithium iron phosphate cells": "Lithium-ion batteries for grid storage",
        "levelised cost of storage LCOS": "How energy storage is measured and compared",
    }
    for question, title in cases.items():
        hits = index.search(question, 5)
        assert hits[0].title == title, (question, [h.title for h in hits])
        assert len({hit.source_id for hit in hits}) == len(hits), "one hit per document"
        assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)
