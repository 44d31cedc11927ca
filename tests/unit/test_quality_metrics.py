"""The quality benchmark's yardsticks on hand-written reports: support, recall, junk, sentences."""

from __future__ import annotations

from bench.quality import Totals, tabulate
from bench.quality_metrics import (
    GradedClaim,
    is_supported,
    junk_lines,
    key_facts_found,
    markdown_claims,
    sentence_claims,
    support_share,
    unread_citations,
)
from bench.quality_runs import Graded

PASSAGES = {
    1: {
        "p1": "Slow sand filters remove pathogens through a biological layer called the "
        "schmutzdecke. They treat about 0.2 cubic metres per square metre each hour.",
        "p2": "Rapid filters are cleaned by backwash when head loss grows.",
    },
    2: {"p1": "Chlorine is added after filtration to disinfect the water."},
}


def claim(text: str, *refs: tuple[int, str | None]) -> GradedClaim:
    return GradedClaim(text, list(refs))


def test_a_claim_whose_words_are_in_its_cited_passage_is_supported() -> None:
    c = claim("Slow sand filters remove pathogens through a biological layer.", (1, "p1"))
    assert support_share(c, PASSAGES) == 1.0
    assert is_supported(c, PASSAGES)
    # Any passage of the cited source counts when the claim names no passage (Markdown reports).
    assert is_supported(claim("Rapid filters are cleaned by backwash.", (1, None)), PASSAGES)


def test_plural_and_case_do_not_matter_but_other_words_do() -> None:
    assert is_supported(claim("A slow sand filter removes pathogens.", (1, "p1")), PASSAGES)
    paraphrase = claim("Slow sand filters kill germs with a living film.", (1, "p1"))
    assert support_share(paraphrase, PASSAGES) < 0.8
    assert not is_supported(paraphrase, PASSAGES)


def test_the_claim_must_rest_on_the_passage_it_cites() -> None:
    # True of source 1, passage p2, but cited to p1 or to source 2: unsupported.
    text = "Rapid filters are cleaned by backwash when head loss grows."
    assert is_supported(claim(text, (1, "p2")), PASSAGES)
    assert not is_supported(claim(text, (1, "p1")), PASSAGES)
    assert not is_supported(claim(text, (2, None)), PASSAGES)
    assert not is_supported(claim(text, (1, "p9")), PASSAGES)  # no such passage


def test_a_claim_that_cites_nothing_or_an_unread_source_is_unsupported() -> None:
    text = "Chlorine is added after filtration to disinfect the water."
    assert not is_supported(claim(text), PASSAGES)
    assert not is_supported(claim(text, (7, None)), PASSAGES)
    assert is_supported(claim(text, (2, None)), PASSAGES)


def test_every_number_must_occur_in_the_cited_passage() -> None:
    right = claim("Slow sand filters treat about 0.2 cubic metres per square metre.", (1, "p1"))
    wrong = claim("Slow sand filters treat about 0.5 cubic metres per square metre.", (1, "p1"))
    assert is_supported(right, PASSAGES)
    assert support_share(wrong, PASSAGES) == 1.0  # the words all match ...
    assert not is_supported(wrong, PASSAGES)  # ... but the number does not


def test_a_claim_with_no_content_words_is_unsupported() -> None:
    assert not is_supported(claim("It is.", (1, "p1")), PASSAGES)


def test_unread_citations_count_each_claim_and_source_once() -> None:
    claims = [claim("a", (1, "p1"), (3, "p1"), (3, "p2")), claim("b", (4, None)), claim("c")]
    assert unread_citations(claims, [1, 2]) == 2


def test_key_facts_match_any_phrasing_case_insensitively_across_claims() -> None:
    facts = [["schmutzdecke"], ["head loss", "pressure drop"], ["ozone"]]
    claims = [claim("The SCHMUTZDECKE does the work."), claim("Pressure\n drop rises.")]
    assert key_facts_found(facts, claims) == 2
    assert key_facts_found(facts, []) == 0


def test_sentences_keep_the_marks_written_in_or_after_them() -> None:
    got = sentence_claims("Filters clog [1]. Backwash cleans them. [1][2] Chlorine then acts.")
    assert [(c.text, c.sources) for c in got] == [
        ("Filters clog.", [1]),
        ("Backwash cleans them.", [1, 2]),
        ("Chlorine then acts.", []),
    ]


def test_markdown_claims_skip_headings_notices_and_our_sources_list() -> None:
    md = (
        "# Report\n\n> This run was stopped early.\n\n## Filters\n\n"
        "- Slow filters use a biological layer. [1]\n\n"
        "## Sources\n\n[1] Slow sand filters — /corpus/water-slow-sand.md\n"
    )
    got = markdown_claims(md)
    assert [(c.text, c.refs) for c in got] == [
        ("Slow filters use a biological layer.", [(1, None)])
    ]


def test_junk_lines_from_the_issue_report_are_found() -> None:
    md = (
        "# Research Question: What are the main ways to store energy on the power grid?\n"
        "The main methods include batteries, which can be upgraded or replaced. [1]\n"
        "## 1\n"
        "2018: 5 }, [2][3]\n"
        "## Sources\n"
        "[2] ... [3] ...\n"
        "## Sources\n"
        "[1] Flow batteries — /corpus/flow.md\n"
        '{"title": "x"}\n'
        "Batteries store\n"
        "Grid batteries last one to four hours.\n"
    )
    assert junk_lines(md) == [
        "## 1",
        "2018: 5 }, [2][3]",
        "[2] ... [3] ...",
        "## Sources",
        '{"title": "x"}',
        "Batteries store",
    ]


def test_a_clean_report_has_no_junk_lines() -> None:
    md = (
        "# Water treatment\n\n> Written from 2 sources.\n\n## 1. Filtration\n\n"
        "- Rapid filters are cleaned by backwash. [1]\n- Chlorine disinfects the water. [2]\n\n"
        "## Sources\n\n[1] Rapid filters — /c/a.md\n[2] Chlorine — /c/b.md\n[3] No url —\n"
    )
    assert junk_lines(md) == []
    assert [c.sources for c in markdown_claims(md)] == [[1], [2]]


def test_totals_and_table_compare_system_with_baseline() -> None:
    def graded(who: str, q: str, supported: int, found: int, status: str) -> Graded:
        return Graded(who, q, status, 10.0, claims=4, supported=supported, facts=3,
                      facts_found=found, right_document=who == "system")  # fmt: skip

    runs = [
        graded("system", "a", 4, 2, "completed"),
        graded("baseline", "a", 1, 1, "completed"),
        graded("system", "b", 3, 1, "completed_with_gaps"),
        graded("baseline", "b", 1, 2, "completed"),
    ]
    mine = Totals.of(runs[::2])
    assert (mine.claims, mine.supported_share, mine.recall) == (8, 7 / 8, 0.5)
    assert (mine.completed, mine.right_document) == (1, 1.0)
    result = tabulate(runs, "m")
    assert len(result.rows) == 6 and result.rows[-2][:2] == ["all", "system"]
    met = {t.goal: t.met for t in result.targets}
    assert met["supported share above the baseline's"]
    assert met["key-fact recall no lower than the baseline's"]
    assert not met[">= 95% of claims supported (independent check)"]
