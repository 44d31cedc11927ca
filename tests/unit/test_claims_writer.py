"""The claims writer's checks and its extractive floor, as pure functions (no model, no server)."""

from __future__ import annotations

import pytest

from activities.claim_checks import clean_heading, locate_quote, quote_problem, sentence_problem
from activities.claims_report import NOTICE_EXTRACTIVE, build_report
from activities.claims_writer import PASSAGES_BUDGET_CHARS, Material, report_prompt
from activities.drafts import ClaimDraft, ReportDraft, SectionDraft
from activities.extractive import Target, extract_claims, sentences
from domain.calls import ReportRequest
from domain.sources import CitedSource, Note

QUESTION = "What are the main ways to store energy on the power grid?"
BATTERIES = (
    "# Lithium-ion batteries\n\nBattery storage shifts solar power into the evening. "
    "Lithium-ion battery storage dominates new grid storage because its cost fell sharply. "
    "Round-trip efficiency is about 90 percent.\n"
)
HYDRO = (
    "# Pumped hydro\n\nPumped hydro storage moves water uphill when power is cheap and runs it "
    "through turbines when power is needed.\nPumped hydro is the largest form of grid storage "
    "worldwide. See [3] {x}: 2018: 5.\n"
)
PLAN = "1. Battery storage on the grid\n2. Pumped hydro storage and its scale"
SOURCES = [
    CitedSource(number=1, source_id="batteries.md", title="Batteries", url="file:b"),
    CitedSource(number=2, source_id="hydro.md", title="Pumped hydro", url="file:h"),
]


def material() -> Material:
    return Material(passages={1: {"p1": BATTERIES}, 2: {"p1": HYDRO}}, cited={(1, "p1")}, noted={1})


def request(plan: str = PLAN, **extra: object) -> ReportRequest:
    fields: dict = {"notes": [], **extra}
    return ReportRequest(run_id="r1", question=QUESTION, plan=plan, sources=SOURCES, **fields)


def claim(text: str, source: int = 1, pid: str = "p1", quote: str = "") -> ClaimDraft:
    return ClaimDraft(text=text, source=source, passage_id=pid, quote=quote or text)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2018: 5 }, [2][3]", "does not start with a letter"),
        ("Batteries store energy", "a fragment: no closing . ! or ?"),
        ("Storage works.", "too short"),
        ('Costs: {"a": 1} are high today.', "JSON or list debris"),
        ("In 2018: 5 plants were built there.", "JSON or list debris"),
        ("* Batteries store grid energy well.", "does not start with a letter"),
    ],
)
def test_fragments_and_debris_are_not_claims(text: str, reason: str):
    assert sentence_problem(text) == reason


def test_a_sentence_is_a_claim():
    assert sentence_problem("Pumped hydro is the largest form of grid storage.") is None


def test_quote_is_found_despite_case_spacing_and_quote_style():
    passage = "He said \u201cPumped  hydro\nis the largest\u201d form of storage."
    start, end = locate_quote('"pumped hydro is the LARGEST" form', passage)
    # The model's wrapping quotation mark is trimmed; the one inside the passage stays.
    assert passage[start:end] == "Pumped  hydro\nis the largest\u201d form"
    assert locate_quote("pumped hydro is the smallest", passage) is None


def test_quote_problems_name_the_reason():
    assert quote_problem("Pumped hydro is the largest", None)[0].startswith("the passage id")
    assert quote_problem("largest form", HYDRO)[0] == "quote too short to back a claim"
    assert quote_problem("Pumped hydro is the smallest form", HYDRO)[0].startswith("quote not")
    reason, (start, end) = quote_problem("pumped hydro is the largest form", HYDRO)
    assert reason is None and HYDRO[start:end] == "Pumped hydro is the largest form"


def test_number_and_debris_headings_become_the_plan_item():
    assert clean_heading("1", "battery storage on the grid") == "Battery storage on the grid"
    assert clean_heading("## }, [2]", "costs:") == "Costs"
    assert clean_heading("Grid batteries", "anything") == "Grid batteries"


def test_sentences_skip_headings_and_debris_with_exact_spans():
    found = sentences(2, "p1", HYDRO)
    assert [s.text.split()[0] for s in found] == ["Pumped", "Pumped"]  # not the heading, not debris
    for s in found:
        assert HYDRO[s.start : s.end] == s.quote and " ".join(s.quote.split()) == s.text


def test_extractive_floor_picks_per_item_without_repeats():
    pool = sentences(1, "p1", BATTERIES, 1.0) + sentences(2, "p1", HYDRO)
    targets = [Target(1, "Battery storage on the grid"), Target(2, "Pumped hydro and its scale")]
    chosen = extract_claims(targets, pool, QUESTION)
    assert chosen[1] and chosen[2]
    assert all(c.evidence[0].source == 1 for c in chosen[1])
    assert chosen[2][0].evidence[0].source == 2
    texts = [c.text for claims in chosen.values() for c in claims]
    assert len(texts) == len(set(texts)) and all(len(v) <= 3 for v in chosen.values())
    assert all(c.origin == "extract" for claims in chosen.values() for c in claims)


def test_junk_draft_falls_to_the_floor_and_says_so():
    junk = ReportDraft(
        title="}",
        lead="2018: 5 }, [2][3]",
        sections=[SectionDraft(heading="1", plan_item=1, claims=[claim("2018: 5 }, [2][3]")])],
    )
    doc, checked = build_report(request(), junk, material())
    assert doc.notice == NOTICE_EXTRACTIVE and doc.lead == "" and doc.title.startswith("What")
    assert [s.heading for s in doc.sections] == [
        "Battery storage on the grid",
        "Pumped hydro storage and its scale",
    ]
    assert len(checked.removed) == 1 and doc.removed[0].support == "refused"
    for c in doc.claims():
        ev = c.evidence[0]
        text = material().passages[ev.source][ev.passage_id]
        assert text[ev.start : ev.end] == ev.quote and c.support == "unchecked"
    assert doc.cited_numbers() == [1, 2]
    assert doc.to_markdown().count("## Sources") == 1


def test_model_claims_are_checked_one_by_one():
    good = "Pumped hydro is the largest form of grid storage worldwide."
    draft = ReportDraft(
        title="Grid storage",
        lead="Batteries and pumped hydro store most grid energy.",
        sections=[
            SectionDraft(
                heading="Hydro",
                plan_item=2,
                claims=[
                    claim(good, 2, "p1"),
                    claim("The sources agree on the main points.", 42),
                    claim("Pumped hydro is cheap everywhere.", 2, "p1"),  # quote not in passage
                    claim("Pumped hydro is big.", 2, "p9", "Pumped hydro is the largest form"),
                ],
            )
        ],
    )
    doc, checked = build_report(request(), draft, material())
    assert checked.citations_dropped == 1 and len(doc.removed) == 3
    hydro = doc.sections[1]
    assert [c.text for c in hydro.claims] == [good] and hydro.claims[0].origin == "model"
    assert hydro.heading == "Hydro" and hydro.claims[0].id == "s2c1"
    assert doc.sections[0].claims[0].origin == "extract"  # item 1 had no model claim
    assert doc.lead.startswith("Batteries") and doc.notice == "" and doc.title == "Grid storage"


def test_no_plan_items_gives_one_section_from_the_question():
    doc, _ = build_report(request(plan=""), ReportDraft(title="", lead="", sections=[]), material())
    assert len(doc.sections) == 1 and doc.sections[0].heading == QUESTION
    assert doc.plan_items == [] and list(doc.claims())


def test_without_passages_notes_stand_in_unquoted():
    notes = [Note(text="Pumped hydro is the largest form of grid storage.", source_id="hydro.md",
                  passage_ids=["p2"])]  # fmt: skip
    req = request(notes=notes)
    doc, _ = build_report(req, ReportDraft(title="", lead="", sections=[]), Material())
    claims = list(doc.claims())
    assert claims and all(c.origin == "model" and c.evidence[0].start == -1 for c in claims)
    assert claims[0].evidence[0].source == 2 and claims[0].evidence[0].passage_id == "p2"
    assert "[2 p2] Pumped hydro" in report_prompt(req, Material())


def test_prompt_is_bounded_and_carries_the_revision():
    long = {f"p{i}": "Grid batteries store energy. " * 100 for i in range(10)}
    big = Material(passages={1: long, 2: dict(long)}, previous="- Batteries store energy.")
    prompt = report_prompt(request(comment="add costs"), big)
    passages = prompt.split("Passages")[1].split("Previous claims")[0]
    assert len(passages) < PASSAGES_BUDGET_CHARS + 100 and "[2 p0]" in passages
    assert "Previous claims:\n- Batteries store energy." in prompt
    assert "Reviewer's comment: add costs" in prompt and "1. Battery storage" in prompt


def test_the_item_with_the_strongest_match_chooses_first():
    pool = sentences(1, "p1", BATTERIES) + sentences(2, "p1", HYDRO)
    vague, costs = Target(1, "Examples of grid storage"), Target(2, "Costs and limits of storage")
    chosen = extract_claims([vague, costs], pool, QUESTION)
    assert "cost fell sharply" in chosen[2][0].text
    assert all("cost" not in c.text for c in chosen[1])


def test_a_sentence_that_names_its_subject_ranks_above_one_that_leans_on_the_last() -> None:
    passage = (
        "Pumped hydro storage pumps water uphill when power is cheap. It still accounts for most "
        "of the storage capacity on power grids. Pumped hydro storage accounts for most of the "
        "storage capacity connected to power grids today."
    )
    pool = sentences(1, "p1", passage)
    chosen = extract_claims([Target(1, "storage capacity on power grids")], pool, "grid storage")
    assert chosen[1][0].text.startswith("Pumped hydro storage accounts")
