"""The budget guard's arithmetic and the review gate's rules, driven without a server.

Only the parts that need no workflow context: waits, timers and search attributes are
exercised against the dev server in tests/test_research_workflow.py and its neighbours.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from temporalio.exceptions import ApplicationError

from domain.run import (
    BudgetLimits,
    ClarificationAnswer,
    ClarifyingQuestion,
    Decision,
    PendingInput,
    RunOptions,
)
from domain.state import ResearchInput, RunState
from workflows.budget import BudgetGuard
from workflows.calls import StopSwitch
from workflows.human import HumanWaits
from workflows.review import ReviewGate
from workflows.tracker import RunTracker

START = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def guard(options: RunOptions, elapsed: timedelta = timedelta(0)) -> BudgetGuard:
    state = RunState.begin(ResearchInput(run_id="r", question="q", options=options), START)
    track = RunTracker(state.tracker, "me")
    gate = ReviewGate(state.requests)
    stop = StopSwitch()
    human = HumanWaits(gate, track, stop, timedelta(days=1), max_revisions=3)
    return BudgetGuard(state, track, gate, human, stop, clock=lambda: START + elapsed)


def pending(kind: str, revisions_left: int = 1, **extra: object) -> PendingInput:
    return PendingInput(
        kind=kind,  # type: ignore[arg-type]
        since=START,
        deadline=START + timedelta(days=1),
        revisions_left=revisions_left,
        **extra,  # type: ignore[arg-type]
    )


def refused(check: object, *args: object) -> str:
    with pytest.raises(ApplicationError) as caught:
        check(*args)  # type: ignore[operator]
    return str(caught.value.type)


# -- budget ----------------------------------------------------------------------------------


def test_nothing_is_over_budget_without_limits() -> None:
    budget = guard(RunOptions(), elapsed=timedelta(days=30))
    budget.track.view.usage.prompt_tokens = 10**9
    assert budget.over_budget() == ""


def test_over_budget_says_what_ran_out() -> None:
    budget = guard(RunOptions(max_tokens=100, max_cost_usd=1.0))
    usage = budget.track.view.usage
    usage.prompt_tokens, usage.completion_tokens = 60, 39
    assert budget.over_budget() == ""
    usage.completion_tokens = 40
    assert budget.over_budget() == "100 of 100 tokens used"
    assert budget.over_budget(BudgetLimits(max_tokens=200)) == ""
    usage.cost_usd = 1.5
    assert budget.over_budget(BudgetLimits(max_cost_usd=1.0)) == "$1.5000 of $1.0000 spent"


def test_time_runs_out_by_the_workflow_clock() -> None:
    options = RunOptions(max_duration=timedelta(minutes=5))
    assert guard(options, elapsed=timedelta(minutes=4)).over_budget() == ""
    assert (
        guard(options, elapsed=timedelta(minutes=5)).over_budget() == "0:05:00 of 0:05:00 elapsed"
    )


def test_an_extension_must_lift_what_ran_out() -> None:
    budget = guard(RunOptions(max_tokens=100))
    budget.track.view.usage.prompt_tokens = 150
    budget.gate.open(pending("budget"))
    short = Decision(accepted=True, budget=BudgetLimits(max_tokens=120))
    assert refused(budget.refuse_short_extension, short) == "invalid_decision"
    budget.refuse_short_extension(Decision(accepted=True, budget=BudgetLimits(max_tokens=500)))
    budget.refuse_short_extension(Decision(accepted=False))  # refusing always goes through
    # Only a budget pause is checked: a report decision carries no limits.
    budget.gate.open(pending("report"))
    budget.refuse_short_extension(short)


# -- review gate -----------------------------------------------------------------------------


def test_a_decision_needs_something_pending_of_its_kind() -> None:
    gate = ReviewGate()
    assert refused(gate.validate_decision, Decision(accepted=True)) == "nothing_pending"
    gate.open(pending("clarification"))
    assert refused(gate.validate_decision, Decision(accepted=True)) == "wrong_stage"
    gate.open(pending("report", revisions_left=0))
    assert refused(gate.validate_decision, Decision(accepted=False)) == "invalid_decision"
    no_revisions = Decision(accepted=False, comment="more sources")
    assert refused(gate.validate_decision, no_revisions) == "revision_limit"
    gate.validate_decision(Decision(accepted=True))
    gate.open(pending("budget"))
    assert refused(gate.validate_decision, Decision(accepted=True)) == "invalid_decision"


def test_answers_must_match_the_questions() -> None:
    gate = ReviewGate()
    assert refused(gate.validate_answer, ClarificationAnswer(skip=True)) == "wrong_stage"
    gate.open(pending("clarification", questions=[ClarifyingQuestion(id="q1", text="Where?")]))
    unknown = ClarificationAnswer(answers={"q9": "x"})
    assert refused(gate.validate_answer, unknown) == "unknown_question"
    empty = ClarificationAnswer(answers={"q1": " "})
    assert refused(gate.validate_answer, empty) == "empty_answer"
    gate.validate_answer(ClarificationAnswer(answers={"q1": "Europe"}))
    gate.validate_answer(ClarificationAnswer(skip=True))


def test_a_repeated_request_gets_its_first_result_even_after_a_handover() -> None:
    state = RunState.begin(ResearchInput(run_id="r", question="q"), START)
    gate = ReviewGate(state.requests)
    gate.open(pending("report", revision=0))
    reject = Decision(accepted=False, comment="add costs", request_id="d1")
    gate.validate_decision(reject)
    first = gate.apply_decision(reject)
    assert not first.replayed and gate.decision == reject
    # The record is the run's state: a gate on the carried state answers the repeat from it.
    assert [r.request_id for r in state.requests] == ["d1"]
    carried = RunState.model_validate_json(state.model_dump_json())
    after = ReviewGate(carried.requests)
    after.validate_decision(reject)  # nothing pending here, yet the repeat is not refused
    again = after.apply_decision(reject)
    assert again == first.model_copy(update={"replayed": True})
    other = Decision(accepted=True, request_id="d1")
    assert refused(after.validate_decision, other) == "request_id_reused"
    # The same id on an answer is another request: ids are kept per kind of message.
    assert after.replay("answer", ClarificationAnswer(skip=True, request_id="d1")) is None
