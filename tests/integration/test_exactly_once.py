"""Exactly-once human input: many callers race one run's answer / decision (and a `stop`).

Each race fires 10-20 concurrent updates (or REST calls) at one pending input, several runs at a
time. Exactly one may take effect; every other caller must get either a clear refusal
(`wrong_stage`, `nothing_pending`, `run_stopping`, `request_id_reused`) or, when it sent the
winner's request id with the winner's body, the winner's result again. The proof is the run's own
event log (one `input_received` per applied input, and the revisions and reports it caused) and
Temporal's history (an accepted update per caller that got a result, none for a refused one).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import httpx
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.deps import get_temporal_client
from api.main import create_app
from api.updates import workflow_not_ready
from domain.run import (
    ClarificationAnswer,
    Decision,
    DecisionResult,
    RunEvent,
    RunOptions,
    RunStatus,
    StopRequest,
)
from domain.state import ResearchInput
from settings import Settings
from tests.fakes.llm_server import FakeLLM
from tests.helpers import pending_kind, wait_for_status
from workflows.research import ResearchWorkflow
from workflows.search_attributes import research_workflow_id

RUNS = "/api/v1/runs"
PARALLEL_RUNS = 3
# Long enough that every racer of one review has its answer before the next review opens (a
# decision without request id that arrived later would be a legitimate decision on that one).
WRITE_DELAY_S = 3.0


@dataclass(frozen=True)
class Outcome:
    kind: str  # "ok", "refused" or "closed"
    result: DecisionResult | None = None
    code: str | None = None


async def outcome(send: Callable[[], Awaitable[DecisionResult]]) -> Outcome:
    """Send one update as a careful client would, and classify the answer."""
    for attempt in range(1, 5):
        try:
            return Outcome("ok", result=await send())
        except WorkflowUpdateFailedError as err:
            assert isinstance(err.cause, ApplicationError), f"refusal without a code: {err.cause!r}"
            return Outcome("refused", code=err.cause.type)
        except RPCError as err:
            if workflow_not_ready(err) and attempt < 4:
                # The workflow task carrying it failed (a run completing as updates came in):
                # not applied, so sending it again is safe. The API does the same.
                await asyncio.sleep(0.1 * attempt)
                continue
            # The run finished while this caller waited its turn: Temporal refuses the update.
            assert err.status == RPCStatusCode.NOT_FOUND, f"unexpected {err.status}: {err}"
            return Outcome("closed")
    raise AssertionError("unreachable")


def applied(outcomes: list[Outcome]) -> list[DecisionResult]:
    return [o.result for o in outcomes if o.kind == "ok" and o.result and not o.result.replayed]


def same_result(a: DecisionResult, b: DecisionResult) -> bool:
    return a.model_dump(exclude={"replayed"}) == b.model_dump(exclude={"replayed"})


async def events_of(handle: WorkflowHandle) -> list[RunEvent]:
    page = await handle.query(ResearchWorkflow.get_events, 0)
    seqs = [e.seq for e in page.events]
    assert seqs == list(range(1, len(seqs) + 1)), f"event log has gaps or repeats: {seqs}"
    return page.events


def inputs(events: list[RunEvent], kind: str) -> list[RunEvent]:
    return [e for e in events if e.type == "input_received" and e.data.get("kind") == kind]


async def start(client: Client, settings: Settings, run_id: str, **options: Any):
    inp = ResearchInput(
        run_id=run_id, question="How is grid energy stored?", options=RunOptions(**options)
    )
    return await client.start_workflow(
        ResearchWorkflow.run, inp, id=research_workflow_id(run_id), task_queue=settings.task_queue
    )


def check_race(
    callers: list[tuple[str | None, str, str]], outcomes: list[Outcome], winner_by: str
) -> DecisionResult:
    """Check one race where each caller is (request_id, body fingerprint, identity) and the event
    log says `winner_by` won. Returns the winner's result."""
    won = applied(outcomes)
    assert len(won) == 1, f"{len(won)} inputs applied, not exactly one: {outcomes}"
    winner = next(c for c, o in zip(callers, outcomes, strict=True) if o.result is won[0])
    assert winner[2] == winner_by, f"the result went to {winner}, the log says {winner_by}"
    for caller, out in zip(callers, outcomes, strict=True):
        twin = caller[0] is not None and caller[0] == winner[0]
        if out.kind == "ok":
            assert (twin and caller[1] == winner[1]) or caller is winner, (caller, out, winner)
            assert out.result is not None and same_result(out.result, won[0])
        elif twin and caller[1] != winner[1]:
            assert out.code == "request_id_reused", (caller, out, winner)
        else:
            # "closed": an accept won, the run finished before this caller's turn.
            assert out.kind == "closed" or out.code in {"wrong_stage", "nothing_pending"}, (
                caller,
                out,
            )
    return won[0]


# -- through the Temporal client ----------------------------------------------------------


def answer_racers() -> list[tuple[tuple[str | None, str, str], ClarificationAnswer]]:
    racers = []
    for n in range(6):  # the same request sent six times (a retrying client)
        racers.append((("same", "europe", "twin"), "same", {"q1": "Europe"}, "twin"))
        if n < 2:  # the same request id with another body
            racers.append(
                (("same", f"other{n}", f"reuser{n}"), "same", {"q1": "Asia"}, f"reuser{n}")
            )
    for n in range(5):
        racers.append(((None, f"free{n}", f"free{n}"), None, {"q1": f"free {n}"}, f"free{n}"))
        racers.append(((f"own{n}", f"own{n}", f"own{n}"), f"own{n}", {"q2": f"own {n}"}, f"own{n}"))
    return [
        (key, ClarificationAnswer(answers=ans, request_id=rid, answered_by=by))
        for key, rid, ans, by in racers
    ]


def decision_racers(
    revision: int, with_accepts: bool
) -> list[tuple[tuple[str | None, str, str], Decision]]:
    """Callers as ((request id, body, identity), decision). The log records a decision's comment,
    not its caller, so the comment is the identity: the six twins share theirs."""
    twin = Decision(
        accepted=False, comment=f"r{revision}: more on costs", request_id=f"d{revision}"
    )
    racers = [((twin.request_id, "twin", twin.comment), twin) for _ in range(6)]
    reuse = twin.model_copy(update={"comment": f"r{revision}: something else"})
    racers.append(((twin.request_id, "reuse", reuse.comment), reuse))
    for n in range(6):
        comment = f"r{revision} free {n}"
        rid = f"r{revision}-own{n}" if n % 3 == 0 else None
        accept = with_accepts and n % 2 == 0
        racers.append(
            ((rid, comment, comment), Decision(accepted=accept, comment=comment, request_id=rid))
        )
    return racers


async def race_answers_on(handle: WorkflowHandle) -> int:
    """Race the answers; returns how many callers got a result (the winner and its twins)."""
    racers = answer_racers()
    outcomes = await asyncio.gather(
        *(
            outcome(partial(handle.execute_update, ResearchWorkflow.answer_clarification, a))
            for _, a in racers
        )
    )
    received = inputs(await events_of(handle), "clarification")
    assert len(received) == 1, f"clarification applied {len(received)} times"
    result = check_race([k for k, _ in racers], outcomes, received[0].data["by"])
    assert result.subject == "clarification"
    return sum(o.kind == "ok" for o in outcomes)


async def race_decisions_on(
    handle: WorkflowHandle, revision: int, with_accepts: bool
) -> tuple[DecisionResult, int]:
    """Race decisions on one review; returns the winner's result and how many got a result."""
    await wait_for_status(
        handle, lambda v: pending_kind("report")(v) and v.pending.revision == revision
    )
    racers = decision_racers(revision, with_accepts)
    outcomes = await asyncio.gather(
        *(outcome(partial(handle.execute_update, ResearchWorkflow.decide, d)) for _, d in racers)
    )
    # The winning update's workflow task also ran the code after the wait: the log has it now.
    events = await events_of(handle)
    decisions = [e for e in inputs(events, "report decision") if e.data["revision"] == revision]
    assert len(decisions) == 1, f"revision {revision} decided {len(decisions)} times"
    result = check_race([k for k, _ in racers], outcomes, decisions[0].data["comment"])
    assert result.subject == "report" and result.revision == revision
    return result, sum(o.kind == "ok" for o in outcomes)


async def one_run_of_races(client: Client, settings: Settings, run_id: str) -> int:
    handle = await start(client, settings, run_id, depth=1, breadth=2, max_revisions=3)
    await wait_for_status(handle, pending_kind("clarification"))
    answered = await race_answers_on(handle)
    # After the race a fresh answer is refused: the stage has moved on.
    late = await outcome(
        partial(
            handle.execute_update,
            ResearchWorkflow.answer_clarification,
            ClarificationAnswer(answers={"q1": "late"}, answered_by="late"),
        )
    )
    assert late.code == "wrong_stage"
    first, decided_0 = await race_decisions_on(handle, 0, with_accepts=False)
    assert first.accepted is False
    second, decided_1 = await race_decisions_on(handle, 1, with_accepts=True)
    results = answered + decided_0 + decided_1
    revisions = 1
    if not second.accepted:
        revisions = 2
        await wait_for_status(
            handle, lambda v: pending_kind("report")(v) and v.pending.revision == 2
        )
        await handle.execute_update(ResearchWorkflow.decide, Decision(accepted=True))
        results += 1
    final = await asyncio.wait_for(handle.result(), 60)
    assert final.status in (RunStatus.completed, RunStatus.completed_with_gaps)
    # In Temporal's history: an update per caller that got a result (replays included), and
    # none of the refused ones (validators keep them out).
    history = await handle.fetch_history()
    accepted = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    assert sum(e.event_type == accepted for e in history.events) == results
    assert final.progress.revisions == revisions
    events = await events_of(handle)
    assert len(inputs(events, "report decision")) == revisions + 1
    assert len([e for e in events if e.type == "report_written"]) == revisions + 1
    assert len([e for e in events if e.type == "finished"]) == 1
    return revisions


async def test_racing_answers_and_decisions_apply_once(
    client: Client, settings: Settings, worker, llm: FakeLLM, run_id: str
) -> None:
    llm.reset(delays={"ReportDraft": WRITE_DELAY_S})
    revisions = await asyncio.gather(
        *(one_run_of_races(client, settings, f"{run_id}-{n}") for n in range(PARALLEL_RUNS))
    )
    # Every applied rejection cost exactly one more report, none was written twice.
    assert llm.count("ReportDraft") == sum(r + 1 for r in revisions)


async def send_stop(handle: WorkflowHandle, reason: str) -> None:
    try:
        await handle.signal(ResearchWorkflow.stop, StopRequest(reason=reason))
    except RPCError as err:  # an accept won and the run already closed
        assert err.status == RPCStatusCode.NOT_FOUND, err


async def one_stop_race(client: Client, settings: Settings, run_id: str, stops_first: bool) -> None:
    handle = await start(client, settings, run_id, clarify=False, depth=1, breadth=2)
    await wait_for_status(handle, pending_kind("report"))
    racers = decision_racers(0, with_accepts=True)
    calls: list[Awaitable[Any]] = [
        outcome(partial(handle.execute_update, ResearchWorkflow.decide, d)) for _, d in racers
    ]
    stop = [send_stop(handle, f"stop {n}") for n in range(3)]
    if stops_first:
        await stop.pop(0)
    # Interleave the stops among the decisions so either side can win.
    mixed = calls[:4] + stop[:1] + calls[4:9] + stop[1:] + calls[9:]
    results = await asyncio.gather(*mixed)
    outcomes = [r for r in results if isinstance(r, Outcome)]
    final = await asyncio.wait_for(handle.result(), 60)
    events = await events_of(handle)
    won = applied(outcomes)
    decided = inputs(events, "report decision")
    assert len(won) == len(decided) <= 1, f"{len(won)} results for {len(decided)} applied"
    if stops_first:
        assert not won, "a decision was taken after the run was asked to stop"
    for out in outcomes:
        if out.kind == "refused":
            assert out.code in {"run_stopping", "nothing_pending", "request_id_reused"}, out
        elif out.kind == "ok":
            assert out.result is not None and same_result(out.result, won[0])
    stopped = [e for e in events if e.type == "stop_requested"]
    assert len(stopped) <= 1 and len([e for e in events if e.type == "finished"]) == 1
    assert final.report_ref, "a stopped run still keeps the report it had"
    if won and won[0].accepted:
        assert final.status in (RunStatus.completed, RunStatus.completed_with_gaps)
        assert final.progress.revisions == 0
    else:
        # Stopped in review, or stopped while revising: the partial result, one way or another.
        assert stopped and final.status == RunStatus.completed_with_gaps, final
        assert final.progress.revisions == (1 if won else 0)


async def test_decisions_racing_a_stop_apply_at_most_once(
    client: Client, settings: Settings, worker, llm: FakeLLM, run_id: str
) -> None:
    llm.reset(delays={"ReportDraft": 1.0})
    await asyncio.gather(
        *(
            one_stop_race(client, settings, f"{run_id}-{n}", stops_first=(n == 0))
            for n in range(PARALLEL_RUNS)
        )
    )


# -- through the REST facade ------------------------------------------------------------------


@pytest.fixture
async def api(client: Client, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    app.dependency_overrides[get_temporal_client] = lambda: client
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://127.0.0.1", timeout=60
    ) as http:
        yield http


def http_outcome(resp: httpx.Response) -> Outcome:
    body = resp.json()
    if resp.status_code == 200:
        return Outcome("ok", result=DecisionResult.model_validate(body))
    assert resp.status_code == 409, f"not a clear conflict: {resp.status_code} {body}"
    if body["error_code"] == "run_finished":
        return Outcome("closed")
    return Outcome("refused", code=body["error_code"])


async def poll(api: httpx.AsyncClient, run_id: str, kind: str, revision: int = 0) -> None:
    for _ in range(600):
        view = (await api.get(f"{RUNS}/{run_id}")).json()
        pending = view.get("pending") or {}
        if pending.get("kind") == kind and pending.get("revision") == revision:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{run_id} never waited for {kind} {revision}: {view}")


async def one_rest_run(api: httpx.AsyncClient, client: Client, run_id: str) -> None:
    resp = await api.post(
        RUNS,
        json={
            "question": "How is grid energy stored?",
            "run_id": run_id,
            "options": {"depth": 1, "breadth": 2},
        },
    )
    assert resp.status_code == 202, resp.text
    handle = client.get_workflow_handle_for(ResearchWorkflow.run, research_workflow_id(run_id))
    await poll(api, run_id, "clarification")
    racers = answer_racers()
    responses = await asyncio.gather(
        *(
            api.post(f"{RUNS}/{run_id}/clarification", json=a.model_dump(exclude_none=True))
            for _, a in racers
        )
    )
    outcomes = [http_outcome(r) for r in responses]
    received = inputs(await events_of(handle), "clarification")
    assert len(received) == 1, f"clarification applied {len(received)} times over REST"
    check_race_http([k for k, _ in racers], outcomes, received[0].data["by"])

    # A request id reused with another body after the fact is refused, not answered with the
    # first result: Temporal's own dedupe by update id must not hide the difference.
    winner = next(a for k, a in racers if k[2] == received[0].data["by"])
    if winner.request_id:
        other = winner.model_copy(update={"answers": {"q1": "a different answer"}})
        reused = await api.post(
            f"{RUNS}/{run_id}/clarification", json=other.model_dump(exclude_none=True)
        )
        assert (reused.status_code, reused.json()["error_code"]) == (409, "request_id_reused")
        again = await api.post(
            f"{RUNS}/{run_id}/clarification", json=winner.model_dump(exclude_none=True)
        )
        assert again.status_code == 200, again.text

    await poll(api, run_id, "report")
    reject = {"accepted": False, "comment": "add costs", "request_id": "k1"}
    first = await api.post(f"{RUNS}/{run_id}/acceptance", json=reject)
    assert first.status_code == 200 and first.json()["accepted"] is False, first.text
    reused = await api.post(
        f"{RUNS}/{run_id}/acceptance", json={**reject, "accepted": True, "comment": ""}
    )
    assert (reused.status_code, reused.json()["error_code"]) == (409, "request_id_reused")
    repeat = await api.post(f"{RUNS}/{run_id}/acceptance", json=reject)
    assert repeat.status_code == 200 and same_result(
        DecisionResult.model_validate(repeat.json()), DecisionResult.model_validate(first.json())
    )

    # Revision 1: acceptances race two stops.
    await poll(api, run_id, "report", revision=1)
    accepts = [
        api.post(f"{RUNS}/{run_id}/acceptance", json={"accepted": True, "comment": f"ok {n}"})
        for n in range(10)
    ]
    stops = [api.post(f"{RUNS}/{run_id}/stop", json={"reason": f"stop {n}"}) for n in range(2)]
    answers = await asyncio.gather(*accepts[:5], *stops, *accepts[5:])
    stop_responses = answers[5:7]
    assert all(r.status_code in (202, 409) for r in stop_responses), stop_responses
    outcomes = [http_outcome(r) for r in answers[:5] + answers[7:]]
    for out in outcomes:
        assert out.kind != "refused" or out.code in {"nothing_pending", "run_stopping"}, out
    final = await asyncio.wait_for(handle.result(), 60)
    events = await events_of(handle)
    decided = [e for e in inputs(events, "report decision") if e.data["revision"] == 1]
    assert len(applied(outcomes)) == len(decided) <= 1
    assert len(inputs(events, "report decision")) == 1 + len(decided)
    assert final.progress.revisions == 1 and final.report_ref
    if not decided:  # the stop won: the run ends with what it had
        assert final.status == RunStatus.completed_with_gaps
        assert [e.type for e in events].count("stop_requested") == 1


def check_race_http(
    callers: list[tuple[str | None, str, str]], outcomes: list[Outcome], winner_by: str
) -> None:
    # Over REST, Temporal itself may answer a repeated update id with the stored result, which
    # carries replayed=False: count the winners by identity instead of by that flag.
    oks = [(c, o) for c, o in zip(callers, outcomes, strict=True) if o.kind == "ok"]
    assert oks and all(c[2] == winner_by for c, _ in oks), f"{winner_by} won, yet: {oks}"
    first = oks[0][1].result
    assert first is not None
    assert all(o.result is not None and same_result(o.result, first) for _, o in oks)
    winner = oks[0][0]
    for caller, out in zip(callers, outcomes, strict=True):
        if out.kind == "ok":
            continue
        twin = caller[0] is not None and caller[0] == winner[0]
        expected = {"request_id_reused"} if twin else {"wrong_stage", "nothing_pending"}
        assert out.code in expected, (caller, out, winner)


async def test_racing_rest_input_applies_once(
    api: httpx.AsyncClient, client: Client, worker, llm: FakeLLM, run_id: str
) -> None:
    llm.reset(delays={"ReportDraft": 1.0})
    await asyncio.gather(
        *(one_rest_run(api, client, f"{run_id}-{n}") for n in range(PARALLEL_RUNS))
    )
