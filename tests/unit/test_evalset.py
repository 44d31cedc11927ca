"""The eval set in evals/: its licence, its articles, and the contract of its questions."""

from __future__ import annotations

from pathlib import Path

from bench.evalset import CORPUS, EVALS, EvalQuestion, keyword_query, load_questions, problems
from providers.extract import extract


def test_corpus_shape() -> None:
    documents = sorted(CORPUS.iterdir())
    assert 30 <= len(documents) <= 40
    for path in documents:
        assert path.suffix == ".md", path.name
        words = len(extract(path).text.split())
        assert 300 <= words <= 700, (path.name, words)
    fields = {path.name.split("-")[0] for path in documents}
    assert len(fields) >= 3, fields  # distractors come from other fields
    assert "CC0 1.0" in (EVALS / "LICENSE.md").read_text()


def test_questions_keep_their_contract() -> None:
    questions = load_questions()
    assert len(questions) >= 20
    assert problems(questions) == []
    # Every article answers something or serves as a distractor; none is referenced by mistake.
    named = {name for q in questions for name in q.relevant}
    assert named <= {p.name for p in CORPUS.iterdir()}


def test_problems_catches_a_broken_set(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# A\n\nAlum is a coagulant. The jar test picks the dose.\n")
    questions = [
        EvalQuestion(
            id="q1",
            question="Which coagulant is used?",
            relevant=["a.md"],
            key_facts=["alum", ["jar test", "beaker test"]],
        ),
        EvalQuestion(
            id="q1",
            question="Which coagulant is used?",
            relevant=["missing.md"],
            key_facts=["alum", "jar test"],
        ),
    ]
    assert problems(questions, tmp_path) == [
        "q1: key fact 'beaker test' is in none of its documents",
        "q1: duplicate id",
        "q1: relevant document missing.md does not exist",
        "q1: key fact 'alum' is in none of its documents",
        "q1: key fact 'jar test' is in none of its documents",
    ]


def test_keyword_query() -> None:
    question = "What is the schmutzdecke and how is a filter that relies on it cleaned?"
    assert keyword_query(question) == "schmutzdecke filter relies cleaned"
    assert keyword_query(question, 3) == "schmutzdecke filter cleaned"  # ties: earlier word
    assert keyword_query("Why doesn't adding lanes cure jams?") == "adding lanes cure jams"
