"""What a run left behind, checked after the faults: history, event log, artifacts, fake calls.

Every check that fails adds one line to `RunAudit.problems`; the fault table's "lost" column
counts them, so a lost activity result, a doubled or dropped decision and a broken report all
show up there. The checks compare three independent records of one run: Temporal's history
(what completed, with which result, after how many attempts), the workflow's own event log and
final view (what the run used), and the artifact store (what a reader gets).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio.client import WorkflowHandle

from domain.run import RunEvent, RunStatus, RunView
from providers.artifacts import ArtifactStore
from workflows.research import ResearchWorkflow

# The fake LLM's request kinds (the JSON schema asked for) and the activities that send them.
LLM_KINDS = {
    "QuestionsDraft": "llm.propose_questions",
    "text": "llm.plan",
    "QueriesDraft": "llm.generate_queries",
    "NotesDraft": "llm.take_notes",
    "GapsDraft": "llm.find_gaps",
    "ReportDraft": "llm.write_report",
}
CLOSE_EVENTS = {
    "activity_task_completed_event_attributes": "completed",
    "activity_task_failed_event_attributes": "failed",
    "activity_task_timed_out_event_attributes": "timed_out",
    "activity_task_canceled_event_attributes": "canceled",
}
CITATION = re.compile(r"\[(\d{1,4})\]")


@dataclass
class Activity:
    """One scheduled activity as history tells it."""

    activity_id: str
    type: str
    attempt: int = 0  # the attempt that closed it: attempts made
    closes: list[str] = field(default_factory=list)
    result: Any = None  # the decoded result of a completed one


@dataclass
class History:
    activities: list[Activity]
    update_ids: list[str]  # ids of the accepted updates, in history order

    def completed(self, type_: str) -> list[Activity]:
        return [a for a in self.activities if a.type == type_ and a.closes == ["completed"]]

    @property
    def retries(self) -> int:
        return sum(max(a.attempt - 1, 0) for a in self.activities)

    def attempts(self, prefix: str) -> int:
        return sum(a.attempt for a in self.activities if a.type.startswith(prefix))


@dataclass
class RunAudit:
    run_id: str
    status: RunStatus | None
    history: History
    problems: list[str]

    @property
    def ended_well(self) -> bool:
        return self.status in (RunStatus.completed, RunStatus.completed_with_gaps)


async def read_history(handle: WorkflowHandle) -> History:
    history = await handle.fetch_history()
    scheduled: dict[int, Activity] = {}
    update_ids: list[str] = []
    for event in history.events:
        if event.HasField("activity_task_scheduled_event_attributes"):
            attrs = event.activity_task_scheduled_event_attributes
            scheduled[event.event_id] = Activity(attrs.activity_id, attrs.activity_type.name)
        elif event.HasField("activity_task_started_event_attributes"):
            attrs = event.activity_task_started_event_attributes
            scheduled[attrs.scheduled_event_id].attempt = attrs.attempt
        elif event.HasField("workflow_execution_update_accepted_event_attributes"):
            request = event.workflow_execution_update_accepted_event_attributes.accepted_request
            update_ids.append(request.meta.update_id)
        for name, outcome in CLOSE_EVENTS.items():
            if event.HasField(name):  # type: ignore[arg-type]
                attrs = getattr(event, name)
                activity = scheduled[attrs.scheduled_event_id]
                activity.closes.append(outcome)
                if outcome == "completed" and attrs.result.payloads:
                    activity.result = json.loads(attrs.result.payloads[0].data)
    return History(list(scheduled.values()), update_ids)


async def run_events(handle: WorkflowHandle) -> list[RunEvent]:
    # A query of a closed run replays its history on a live worker: the log is the run's own.
    page = await handle.query(ResearchWorkflow.get_events, 0, rpc_timeout=timedelta(seconds=30))
    return page.events


async def audit_run(
    handle: WorkflowHandle,
    run_id: str,
    store: ArtifactStore,
    decisions: list[tuple[str, bool, str]],
    update_ids: list[str],
    allowed: frozenset[RunStatus] = frozenset({RunStatus.completed}),
) -> RunAudit:
    """Check one finished run. `decisions` are (kind, accepted, comment) as the person sent
    them, in order; `update_ids` the ids they were sent under."""
    history = await read_history(handle)
    view: RunView = await handle.result()
    events = await run_events(handle)
    problems: list[str] = []
    if view.status not in allowed:
        problems.append(f"ended {view.status.value} ({view.finish_reason}: {view.error})")
    for a in history.activities:
        if len(a.closes) != 1:
            problems.append(f"activity {a.activity_id} {a.type} closed as {a.closes}")
    problems += _results_used(history, view, events, store)
    problems += _decisions(events, history, decisions, update_ids)
    problems += _report_whole(view, store)
    return RunAudit(run_id, view.status, history, [f"{run_id}: {p}" for p in problems])


def _results_used(
    history: History, view: RunView, events: list[RunEvent], store: ArtifactStore
) -> list[str]:
    """Every completed activity result is in what the run used, and nothing else is."""
    problems: list[str] = []
    llm = [a for a in history.activities if a.type.startswith("llm.") and a.closes == ["completed"]]
    counted = ("llm_calls", "prompt_tokens", "completion_tokens")
    used = {k: sum(a.result["usage"][k] for a in llm) for k in counted}
    recorded = {k: getattr(view.usage, k) for k in counted}
    if used != recorded:
        problems.append(f"usage {recorded} != the completed LLM results' {used}")
    types = Counter(e.type for e in events)
    for event_type, activity_type in (
        ("llm_call", "llm."),
        ("source_read", "read.read_source"),
        ("notes_taken", "llm.take_notes"),
    ):
        done = sum(
            1
            for a in history.activities
            if a.type.startswith(activity_type) and a.closes == ["completed"]
        )
        if types[event_type] != done:
            problems.append(f"{types[event_type]} {event_type} events, {done} completed")
    if view.sources_ref is None:
        return [*problems, "no sources bundle"]
    bundle = store.read_json(view.sources_ref)
    read = sorted(a.result["source_id"] for a in history.completed("read.read_source"))
    if sorted(s["source_id"] for s in bundle) != read:
        problems.append(f"sources bundle {[s['source_id'] for s in bundle]} != reads {read}")
    noted = sorted(
        n["text"] for a in history.completed("llm.take_notes") for n in a.result["notes"]
    )
    if sorted(n for s in bundle for n in s["notes"]) != noted:
        problems.append("notes in the sources bundle differ from the completed notes results")
    reports = history.completed("llm.write_report")
    if not reports or reports[-1].result["report_ref"] != view.report_ref:
        problems.append(f"report_ref {view.report_ref} is not the last written report")
    return problems


def _decisions(
    events: list[RunEvent],
    history: History,
    sent: list[tuple[str, bool, str]],
    update_ids: list[str],
) -> list[str]:
    """Each decision the person made shows exactly once, in order; none appears unasked."""
    problems: list[str] = []
    applied = [
        (
            e.data["kind"],
            bool(e.data.get("accepted", not e.data.get("skipped"))),
            e.data.get("comment", ""),
        )
        for e in events
        if e.type == "input_received"
    ]
    if applied != sent:
        problems.append(f"decisions applied {applied} != sent {sent}")
    for uid in update_ids:
        times = sum(1 for got in history.update_ids if same_update(got, uid))
        if times != 1:
            problems.append(f"update {uid} accepted {times} times")
    extra = [g for g in history.update_ids if not any(same_update(g, u) for u in update_ids)]
    if extra:
        problems.append(f"updates nobody sent were accepted: {extra}")
    revisions = len([d for d in sent if d[0] == "report decision" and not d[1]])
    if len(history.completed("llm.write_report")) != revisions + 1:
        problems.append(
            f"{len(history.completed('llm.write_report'))} reports for {revisions} rejections"
        )
    return problems


def same_update(got: str, sent: str) -> bool:
    # The API may suffix the id it derives from a request id (a digest of the body).
    return got == sent or got.startswith(sent + "-")


def _report_whole(view: RunView, store: ArtifactStore) -> list[str]:
    """The report reads back, every [n] names a source in the bundle, every source's text is
    stored, and the run record agrees with the run."""
    problems: list[str] = []
    try:
        report = store.read_text(view.report_ref or "")
        bundle = store.read_json(view.sources_ref or "")
        record = store.read_json(f"runs/{view.run_id}/run.json")
    except (FileNotFoundError, ValueError) as exc:
        return [f"artifact unreadable: {exc}"]
    numbers = {s["number"]: s for s in bundle}
    cited = {int(n) for n in CITATION.findall(report)}
    if not cited and view.status == RunStatus.completed:
        problems.append("a completed report cites nothing")
    if cited - set(numbers):
        problems.append(f"citations {sorted(cited - set(numbers))} name no source")
    for n in sorted(cited & set(numbers)):
        if f"[{n}] {numbers[n]['title']}" not in report:
            problems.append(f"source [{n}] is not listed under the report's sources")
    if len(cited) != view.progress.citations:
        problems.append(f"{len(cited)} sources cited, the run counted {view.progress.citations}")
    for source in bundle:
        if not store.exists(source["artifact_ref"]):
            problems.append(f"text of source {source['number']} is missing")
    if record.get("status") != view.status.value:
        problems.append(f"run.json says {record.get('status')}, the run {view.status.value}")
    return problems


def llm_accounting(fake_calls: list[Any], histories: list[History]) -> list[str]:
    """No LLM call was answered more often than history shows attempts for it: a completed
    activity that ran again unseen would be an extra answered call of its kind."""
    problems: list[str] = []
    served = Counter(c.kind for c in fake_calls if c.completed)
    for kind, activity_type in LLM_KINDS.items():
        attempts = sum(h.attempts(activity_type) for h in histories)
        done = sum(len(h.completed(activity_type)) for h in histories)
        if served[kind] > attempts:
            problems.append(f"{kind}: {served[kind]} answered calls for {attempts} attempts")
        if served[kind] < done:
            problems.append(f"{kind}: {done} completed activities but {served[kind]} answers")
    return problems
