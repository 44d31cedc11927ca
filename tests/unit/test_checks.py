"""The output checks and fallbacks as pure functions: junk refused, good answers kept."""

from __future__ import annotations

import pytest

from activities.checks import (
    check_phrases,
    check_plan,
    note_problem,
    only_repeats,
    plan_items,
    vocabulary,
)
from activities.fallbacks import fallback_gaps, fallback_plan, fallback_queries, numbered
from activities.words import content_stems, stem
from domain.sources import Note, Passage

GRID = "What are the main ways to store energy on the power grid?"
TOPIC = vocabulary(GRID)
GOOD_PLAN = (
    "Here is a plan:\n"
    "1. Compare lithium-ion battery storage costs\n"
    "2. Describe pumped hydro storage on the grid\n"
    "3. Review compressed air energy storage\n"
    "4. Write the report."
)


def test_word_families_share_a_stem() -> None:
    assert {stem(w) for w in ("store", "stored", "storing", "storage")} == {"stor"}
    assert stem("batteries") == stem("battery")
    assert content_stems("What are the main ways to do it?") == set()


@pytest.mark.parametrize(
    "junk",
    [
        "1. 2018: 5  2. 2019: 6  3. 2020: 7  4. 2021: 8  5. 2022: 9",
        "}",
        "[2][3]",
        "## 1",
        '{"plan": ["1"]}',
        "1. 2018-03-27: The main ways to store energy on the power grid are:\n* 2019-04-05:",
        "1. Bake bread with fresh yeast daily\n2. Knit warm winter socks",
        "1. Store energy on the power grid\n2. The power grid stores energy",
    ],
)
def test_junk_plans_keep_no_item(junk: str) -> None:
    checked = check_plan(junk, TOPIC)
    assert checked.kept == []
    assert checked.refused and checked.reasons()


def test_a_good_plan_keeps_its_steps_and_drops_the_rest() -> None:
    checked = check_plan(GOOD_PLAN, TOPIC)
    assert checked.kept == [
        "Compare lithium-ion battery storage costs",
        "Describe pumped hydro storage on the grid",
        "Review compressed air energy storage",
    ]
    assert [item for item, _ in checked.refused] == ["Here is a plan:", "Write the report."]


def test_plan_items_split_inline_numbering_and_duplicates_are_refused() -> None:
    assert plan_items("1. a b  2. c d\n- e\n## f") == ["a b", "c d", "e", "f"]
    checked = check_plan("1. Battery storage costs\n2. battery storage COSTS", TOPIC)
    assert checked.kept == ["Battery storage costs"]
    assert checked.refused == [("battery storage COSTS", "duplicate")]


# What SmolLM2-135M wrote when re-asked for a plan for GRID (the reply hit the token limit).
SMOL_PLAN = (
    "1. The main ways to store energy on the power grid are solar panels, batteries, and other "
    "technologies that can be used in combination with renewable resources.\n"
    "2. The most effective way is to use solar panels as a primary source of energy storage for "
    "the power grid.\n"
    "3. The main ways to store energy on the power grid are batteries, and other technologies "
    "that can be used in combination with renewable resources.\n"
    "4. Solar panels are used in conjunction with batteries and other technologies that can be "
    "used in combination with renewable resources, which will increase overall efficiency of "
    "the power grid.\n"
    "5. The main ways to store energy on the power grid are solar panels as a primary source of "
    "energy storage for the power grid, which is an important"
)


def test_rewordings_and_a_cut_off_last_item_are_refused() -> None:
    checked = check_plan(SMOL_PLAN, TOPIC, cut_off=True)
    assert [reason for _, reason in checked.refused] == ["duplicate", "duplicate", "cut off"]
    assert [item[:20] for item in checked.kept] == ["The main ways to sto", "The most effective w"]
    whole = check_plan(SMOL_PLAN, TOPIC)  # not cut off: item 5 is still a rewording of item 2
    assert whole.kept == checked.kept and whole.refused[-1][1] == "duplicate"
    distinct = check_plan("1. Battery storage costs\n2. Battery storage efficiency", TOPIC)
    assert len(distinct.kept) == 2


def test_clarifications_widen_the_topic() -> None:
    item = "Survey European utility projects"
    assert check_plan(item, TOPIC).kept == []
    assert check_plan(item, TOPIC | vocabulary("Europe? European utilities")).kept == [item]


def test_queries_need_content_words_and_must_be_new() -> None:
    checked = check_phrases(
        ["}", "2019", '"queries":', "battery storage", "Battery  Storage", "pumped hydro", "a b"],
        previous=["pumped hydro"],
        limit=3,
    )
    assert checked.kept == ["battery storage"]
    reasons = dict(checked.refused)
    assert reasons["}"] == reasons['"queries":'] == "JSON or list debris"
    assert reasons["2019"] == reasons["a b"] == "numbers or no content words"
    assert reasons["Battery  Storage"] == reasons["pumped hydro"] == "already asked"
    assert not only_repeats(checked)


def test_queries_are_trimmed_to_the_count_and_repeats_alone_are_not_junk() -> None:
    assert check_phrases(["tea", "hydro", "flywheels"], [], 2).kept == ["tea", "hydro"]
    repeats = check_phrases(["tea"], ["Tea"], 2)
    assert repeats.kept == [] and only_repeats(repeats)


def test_fallback_plan_is_readable_and_passes_its_own_check() -> None:
    items = fallback_plan(GRID, {"Which region?": "Europe, recent years"})
    assert items[0] == "Key facts about the main ways to store energy on the power grid"
    assert items[-1] == "Focus on what the person asked for: Europe, recent years"
    assert check_plan(numbered(items), TOPIC | vocabulary("Europe, recent years")).kept == items
    assert numbered(items).startswith("1. Key facts about")


def test_fallback_queries_use_question_and_plan_words_and_skip_old_ones() -> None:
    plan = numbered(["Compare lithium-ion battery storage costs", "Describe pumped hydro storage"])
    queries = fallback_queries(GRID, plan, ["store energy power grid"], 3)
    assert queries == ["lithium ion battery store energy power", "pumped hydro store energy power"]
    assert all(check_phrases([q], [], 1).kept for q in queries)


def test_fallback_gaps_name_what_no_note_covers() -> None:
    note = Note(text="Pumped hydro stores energy for the grid.", source_id="s", passage_ids=["p0"])
    assert fallback_gaps(GRID, [note]) == ["What is known about power"]
    covered = Note(text="Grid power storage uses energy.", source_id="s", passage_ids=["p0"])
    assert fallback_gaps(GRID, [covered]) == []


PASSAGES = [
    Passage(id="p0", text="Pumped hydro storage moves water uphill when power is cheap."),
    Passage(id="p1", text="Pumped hydro is the largest form of grid storage worldwide."),
]


def note(text: str, *ids: str) -> Note:
    return Note(text=text, source_id="s", passage_ids=list(ids))


def test_a_note_its_passage_supports_passes() -> None:
    assert (
        note_problem(note("Pumped hydro moves water uphill when power is cheap.", "p0"), PASSAGES)
        is None
    )
    assert (
        note_problem(note("Pumped hydro is the largest grid storage.", "p0", "p1"), PASSAGES)
        is None
    )


@pytest.mark.parametrize(
    ("text", "ids", "reason"),
    [
        ("Pumped hydro is the largest grid storage.", (), "cites no passage"),
        ("Pumped hydro is the largest grid storage.", ("p7",), "cites no passage"),
        ("2018: 5 }, [2][3]", ("p0",), "JSON or list debris"),
        ("Hydro.", ("p0",), "too short"),
        ("Lithium batteries cost less every year since 2010.", ("p1",), "words are in the cited"),
    ],
)
def test_unsupported_notes_are_refused(text: str, ids: tuple[str, ...], reason: str) -> None:
    problem = note_problem(note(text, *ids), PASSAGES)
    assert problem is not None and reason in problem


@pytest.mark.parametrize(
    "story",
    [
        "20 years ago, a team of scientists discovered that the power grid uses a complex system",
        "3 decades ago, a group of researchers at a university conducted an experiment on storage",
        "Engineers discovered that energy storage on the power grid changes prices",
    ],
)
def test_a_story_about_the_topic_is_not_a_plan_step(story: str) -> None:
    # Seen on SmolLM2-135M for "What are the main ways to store energy on the power grid?":
    # on topic by its words, so only these checks keep it out of the plan and the headings.
    topic = vocabulary("What are the main ways to store energy on the power grid?")
    checked = check_plan(f"1. {story}\n2. Compare the costs of grid energy storage methods", topic)
    assert checked.kept == ["Compare the costs of grid energy storage methods"]
    assert checked.refused[0][1] == "a story, not a step"


def test_a_paragraph_is_not_a_plan_step() -> None:
    topic = vocabulary("How is energy stored on the power grid?")
    long = "Energy storage on the grid " + "matters a great deal for many reasons " * 5
    checked = check_plan(f"1. {long}\n2. List the main grid energy storage methods", topic)
    assert [r for _, r in checked.refused] == ["a paragraph, not a step"]
