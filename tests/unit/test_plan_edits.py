"""Plan edits at plan review, without a server: the plan rules, the diff the `plan_edited`
event reports, and the review gate's refusals (the whole run is in
tests/integration/test_plan_edits.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from temporalio.exceptions import ApplicationError

from domain.plan import compare_plans, plan_lines, plan_problem, plan_text
from domain.run import Decision, GateRecord, PendingInput
from workflows.review import ReviewGate

START = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
ITEMS = ["Evidence on tidal lagoons", "Costs of tidal lagoons"]


def gate_at(kind: str) -> ReviewGate:
    gate = ReviewGate()
    gate.open(
        PendingInput(
            kind=kind,  # type: ignore[arg-type]
            since=START,
            deadline=START + timedelta(days=1),
            revisions_left=1,
        )
    )
    return gate


def refusal(gate: ReviewGate, decision: Decision) -> tuple[str, str]:
    with pytest.raises(ApplicationError) as caught:
        gate.validate_decision(decision)
    return str(caught.value.type), caught.value.message


def test_plan_text_numbers_clean_items_and_reads_back() -> None:
    text = plan_text(["  1. Evidence on\n tidal   lagoons ", "- Costs of tidal lagoons"])
    assert text == "1. Evidence on tidal lagoons\n2. Costs of tidal lagoons"
    assert plan_lines(text) == ITEMS


@pytest.mark.parametrize(
    ("items", "why"),
    [
        ([], "1 to 12 items, not 0"),
        ([f"item number {n}" for n in range(13)], "not 13"),
        (["fine item", "  ab "], "item 2 has 2 characters"),
        (["x" * 301], "item 1 has 301 characters"),
        (["1.   "], "item 1 has 0 characters"),
    ],
)
def test_a_bad_plan_says_what_is_wrong(items: list[str], why: str) -> None:
    problem = plan_problem(items)
    assert problem is not None and why in problem


def test_a_good_plan_passes() -> None:
    assert plan_problem(["abc", "x" * 300]) is None
    assert plan_problem([f"item number {n}" for n in range(12)]) is None


def test_the_edit_counts_added_removed_and_reworded_items() -> None:
    before = ["a one", "b two", "c three"]
    assert compare_plans(before, before).summary == "0 added, 0 removed, 0 changed"
    edit = compare_plans(before, ["a one", "b TWO", "c three", "d four"])
    assert (edit.added, edit.removed, edit.changed) == (1, 0, 1)
    edit = compare_plans(before, ["c three"])
    assert (edit.added, edit.removed, edit.changed) == (0, 2, 0)
    edit = compare_plans(before, ["x", "y", "z", "w"])
    assert (edit.added, edit.removed, edit.changed) == (1, 0, 3)


def test_the_gate_takes_an_edited_plan_only_at_plan_review() -> None:
    gate_at("plan").validate_decision(Decision(accepted=True, plan=ITEMS))
    code, message = refusal(gate_at("report"), Decision(accepted=True, plan=ITEMS))
    assert code == "wrong_stage" and "not at report" in message
    assert refusal(gate_at("budget"), Decision(accepted=True, plan=ITEMS))[0] == "wrong_stage"
    rejected = Decision(accepted=False, comment="more", plan=ITEMS)
    assert refusal(gate_at("plan"), rejected)[0] == "invalid_decision"
    code, message = refusal(gate_at("plan"), Decision(accepted=True, plan=["ok item", "no"]))
    assert code == "invalid_plan" and "item 2" in message


def test_a_repeat_with_the_same_id_gets_the_first_result_and_a_changed_plan_is_refused() -> None:
    gate = gate_at("plan")
    edit = Decision(accepted=True, plan=ITEMS, request_id="e1")
    gate.validate_decision(edit)
    first = gate.apply_decision(edit)
    gate.validate_decision(edit)  # decided already, yet the repeat is answered
    assert gate.apply_decision(edit) == first.model_copy(update={"replayed": True})
    other = Decision(accepted=True, plan=ITEMS[:1], request_id="e1")
    assert refusal(gate, other)[0] == "request_id_reused"


def test_a_record_from_before_plan_edits_still_matches_its_repeat() -> None:
    # Recorded by a worker whose Decision had no `plan` field: its JSON lacks the key.
    old = '{"accepted":true,"comment":"","decided_by":"anonymous","request_id":"d1","budget":null}'
    first = gate_at("plan").apply_decision(Decision(accepted=True))
    gate = ReviewGate([GateRecord(kind="decide", request_id="d1", request=old, result=first)])
    replayed = gate.replay("decide", Decision(accepted=True, request_id="d1"))
    assert replayed == first.model_copy(update={"replayed": True})
