"""RunState is a run's whole state and its continue-as-new payload: it loads what older runs
carried (the CarriedState shape in recorded histories) and survives JSON unchanged."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from domain.calls import ReportResult
from domain.run import RunOptions, RunStatus, Stage
from domain.state import ResearchInput, RunState

HISTORIES = Path(__file__).parent.parent / "histories"
CARRIED_STATE_FIELDS = {
    "resume",
    "next_round",
    "gaps",
    "continued",
    "tracker",
    "requests",
    "limits",
    "plan",
    "queries",
    "sources",
    "notes",
    "revision",
    "clarifications",
    "report",
}


def recorded_input(name: str) -> dict[str, Any]:
    """The input a recorded run started with, as the JSON in its history."""
    history = json.loads((HISTORIES / f"{name}.json").read_text())
    started = history["events"][0]["workflowExecutionStartedEventAttributes"]
    return json.loads(base64.b64decode(started["input"]["payloads"][0]["data"]))


def holds(new: object, old: object) -> bool:
    """`new` has everything `old` has, with the same values; dicts may have more keys."""
    if isinstance(old, dict):
        return isinstance(new, dict) and all(k in new and holds(new[k], v) for k, v in old.items())
    if isinstance(old, list):
        return (
            isinstance(new, list)
            and len(new) == len(old)
            and all(holds(n, o) for n, o in zip(new, old, strict=True))
        )
    return new == old


def test_an_old_carried_state_loads_and_keeps_every_value() -> None:
    old = recorded_input("research_continued_last")["carried"]
    assert set(old) == CARRIED_STATE_FIELDS  # the shape runs carried before RunState
    state = RunState.model_validate(old)
    assert state.resume == "review" and state.continued == 2
    assert state.report is not None and state.report.report_ref.endswith("report-r1.md")
    dumped = state.model_dump(mode="json")
    # Nothing of the old payload is lost or changed on the way through the new model (fields
    # added since, such as progress.searches_failed, come in with their defaults).
    assert holds(dumped, old)
    assert dumped["tracker"]["view"]["progress"]["searches_failed"] == 0


def test_the_carried_input_is_typed() -> None:
    raw = recorded_input("research_continued_last")
    inp = ResearchInput.model_validate(raw)
    assert isinstance(inp.carried, RunState)
    assert inp.carried.tracker.view.run_id == inp.run_id


def test_a_fresh_state_round_trips_through_json() -> None:
    now = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    options = RunOptions(max_tokens=500, max_duration=timedelta(minutes=5), depth=3)
    inp = ResearchInput(run_id="r1", question="How is grid energy stored?", options=options)
    state = RunState.begin(inp, now)
    assert state.resume is None and state.continued == 0 and state.next_round == 1
    assert (state.limits.max_tokens, state.limits.max_duration) == (500, timedelta(minutes=5))
    view = state.tracker.view
    assert (view.status, view.stage, view.created_at) == (RunStatus.running, Stage.clarifying, now)
    assert state.tracker.events == [] and state.tracker.dropped == 0
    # A run's state as it goes on, then carried: every field comes back equal.
    state.plan, state.queries, state.revision = "1. Search.", ["battery storage"], 2
    state.clarifications = {"Which region?": "Europe"}
    state.report = ReportResult(
        report_ref="runs/r1/report.md", chars=10, citations=1, citations_dropped=0
    )
    carried = state.model_copy(update={"resume": "research", "next_round": 2, "gaps": ["cost"]})
    payload = inp.model_copy(update={"carried": carried}).model_dump_json()
    back = ResearchInput.model_validate_json(payload)
    assert back.carried == carried
