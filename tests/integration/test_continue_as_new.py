"""A long run continues as new before its history grows large, and nobody outside can tell.

This module runs its own Temporal dev server whose continue-as-new suggestion comes after a few
dozen history events instead of thousands, so one research run (clarification, five rounds, a
rejection and its revision) crosses several run boundaries. Through the REST API on a real
socket it must look like one run: same id and status, one gap-free event log (live over SSE
and on resume), usage and progress kept, and a decision repeated after a boundary is still
answered from the record, not applied again.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, Worker

from domain.run import (
    Decision,
    DecisionResult,
    RunEvent,
    RunOptions,
    RunStatus,
    RunView,
    Stage,
    TrackerState,
)
from domain.state import ResearchInput
from settings import Settings
from stack.temporal_server import TemporalDevServer
from tests.fakes.claims_writer import claims_worker
from tests.fakes.llm_server import FakeLLM
from tests.helpers import pending_kind, wait_for_status
from tests.helpers.stack import connect, stack_settings, start_dev_server
from tests.histories.record import chain_of
from tests.live import QUICK_STREAMS, RUNS, ThreadedApi, assert_complete, read_events, run_handle
from worker import build_activities, build_worker
from workflows.approval import ApprovalWorkflow
from workflows.research import ResearchWorkflow
from workflows.search_attributes import TOKENS_USED, research_workflow_id
from workflows.tracker import RunTracker

# The dev server's default is thousands of events; a round here writes a few dozen.
SUGGEST_AFTER_EVENTS = 25
# Fresh queries every round (the run skips queries it already ran), words the corpus has.
ROUND_QUERIES = [
    ["battery storage", "pumped hydro"],
    ["lithium cost", "water turbines"],
    ["green tea", "solar evening"],
    ["efficiency", "grid storage worldwide"],
    ["brewed leaves", "uphill water"],
]


@pytest.fixture(scope="module")
def can_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemporalDevServer]:
    data = tmp_path_factory.mktemp("continue-as-new")
    server = start_dev_server(
        data,
        dynamic_config={"limit.historyCount.suggestContinueAsNew": str(SUGGEST_AFTER_EVENTS)},
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def can_settings(
    can_server: TemporalDevServer, fake_llm: FakeLLM, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    data = tmp_path_factory.mktemp("continue-as-new-data")
    return stack_settings(
        can_server.address,
        fake_llm.base_url,
        data,
        "continue-as-new-tests",
        api_query_timeout_s=2.0,
        **QUICK_STREAMS,
    )


@pytest.fixture(scope="module")
async def can_client(can_server: TemporalDevServer) -> Client:
    return await connect(can_server.address)


@pytest.fixture(scope="module")
async def can_worker(can_client: Client, can_settings: Settings) -> AsyncIterator[Worker]:
    activities = await asyncio.to_thread(build_activities, can_settings)
    async with build_worker(can_client, can_settings, activities) as running:
        yield running


@pytest.fixture(scope="module")
def can_api(can_settings: Settings) -> Iterator[ThreadedApi]:
    api = ThreadedApi(can_settings).start()
    yield api
    api.stop()


def script_rounds(llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every round finds a gap and proposes new queries, so the run does all its rounds."""
    llm.reset(gaps=["costs per kWh"])
    original = llm._reply

    def reply(kind: str, prompt: str) -> str:
        if kind == "QueriesDraft":
            n = min(llm.count("QueriesDraft"), len(ROUND_QUERIES)) - 1
            return json.dumps({"queries": ROUND_QUERIES[n]})
        return original(kind, prompt)

    monkeypatch.setattr(llm, "_reply", reply)


async def poll(http: httpx.AsyncClient, run_id: str, until: Any, within: float = 90) -> dict:
    deadline = time.monotonic() + within
    view: dict = {}
    while time.monotonic() < deadline:
        resp = await http.get(f"{RUNS}/{run_id}")
        assert resp.status_code == 200, resp.text
        view = resp.json()
        assert view["run_id"] == run_id  # the same run, whichever Temporal run answers
        if until(view):
            return view
        await asyncio.sleep(0.2)
    raise AssertionError(f"not reached in {within}s: {view}")


def review_of(revision: int) -> Any:
    def reached(view: dict) -> bool:
        pending = view.get("pending") or {}
        return pending.get("kind") == "report" and pending.get("revision") == revision

    return reached


async def repeat_inputs(
    http: httpx.AsyncClient, handle: WorkflowHandle, run_id: str, answer: dict
) -> tuple[list[DecisionResult], list[str], set[str]]:
    """Re-send `answer` and an unexpected decision until the report review opens; also says
    which Temporal runs were current meanwhile."""
    repeats: list[DecisionResult] = []
    refusals: list[str] = []
    runs: set[str] = set()
    while True:
        runs.add((await handle.describe()).run_id or "")
        view = (await http.get(f"{RUNS}/{run_id}")).json()
        if review_of(0)(view):
            return repeats, refusals, runs
        again = await http.post(f"{RUNS}/{run_id}/clarification", json=answer)
        assert again.status_code == 200, again.text
        repeats.append(DecisionResult.model_validate(again.json()))
        # Never applicable (a rejection needs a comment), so the review opening under it is fine.
        stray = await http.post(f"{RUNS}/{run_id}/acceptance", json={"accepted": False})
        assert stray.status_code in (409, 422), stray.text
        refusals.append(stray.json()["error_code"])
        await asyncio.sleep(0.05)


async def test_long_run_continues_as_new_and_looks_like_one_run(
    can_api: ThreadedApi,
    can_client: Client,
    can_worker: Worker,
    llm: FakeLLM,
    run_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    script_rounds(llm, monkeypatch)
    handle = run_handle(can_client, run_id)
    options = {"depth": 5, "breadth": 2, "max_sources": 8, "max_revisions": 2}
    async with httpx.AsyncClient(base_url=can_api.url, timeout=60) as http:
        body = {"question": "How is grid energy stored?", "run_id": run_id, "options": options}
        assert (await http.post(RUNS, json=body)).status_code == 202
        url = f"{RUNS}/{run_id}/events"
        # One SSE client follows the whole run, across every boundary.
        live = asyncio.create_task(read_events(http, url, None, None))

        await poll(http, run_id, lambda v: (v.get("pending") or {}).get("kind") == "clarification")
        answer = {"answers": {"q1": "Europe"}, "request_id": "a1"}
        answered = await http.post(f"{RUNS}/{run_id}/clarification", json=answer)
        assert answered.status_code == 200, answered.text
        # While the rounds run and the run continues as new, the same answer keeps coming (a
        # client retrying) and so does a decision no review waits for: updates racing the
        # boundaries get the first result or a clear refusal, never a second application.
        hammer = asyncio.create_task(repeat_inputs(http, handle, run_id, answer))

        await poll(http, run_id, review_of(0))
        repeats, refusals, runs = await hammer
        assert len(runs) >= 2, "the repeats never straddled a boundary"
        first = DecisionResult.model_validate(answered.json())
        assert repeats and all(
            r.model_dump(exclude={"replayed"}) == first.model_dump(exclude={"replayed"})
            for r in repeats
        )
        assert "nothing_pending" in refusals, refusals
        assert set(refusals) <= {"nothing_pending", "invalid_decision"}, refusals
        before = (await handle.describe()).run_id
        reject = {"accepted": False, "comment": "add costs", "request_id": "r1"}
        rejected = await http.post(f"{RUNS}/{run_id}/acceptance", json=reject)
        assert rejected.status_code == 200, rejected.text

        view = await poll(http, run_id, review_of(1))
        assert (await handle.describe()).run_id != before, "no boundary since the decision"
        assert view["status"] == "awaiting_input" and view["progress"]["revisions"] == 1
        # Repeated after the boundary: answered from the carried record, not applied again.
        for path, sent, first in (
            ("acceptance", reject, rejected),
            ("clarification", answer, answered),
        ):
            again = await http.post(f"{RUNS}/{run_id}/{path}", json=sent)
            assert again.status_code == 200, again.text
            result = DecisionResult.model_validate(again.json())
            assert result.replayed and result.model_dump(exclude={"replayed"}) == (
                DecisionResult.model_validate(first.json()).model_dump(exclude={"replayed"})
            )
        through_client = await handle.execute_update(ResearchWorkflow.decide, Decision(**reject))
        assert through_client.replayed and not through_client.accepted
        reused = await http.post(
            f"{RUNS}/{run_id}/acceptance", json={**reject, "accepted": True, "comment": ""}
        )
        assert (reused.status_code, reused.json()["error_code"]) == (409, "request_id_reused")

        accepted = await http.post(f"{RUNS}/{run_id}/acceptance", json={"accepted": True})
        assert accepted.status_code == 200, accepted.text
        final = await poll(http, run_id, lambda v: v["status"] not in ("running", "awaiting_input"))
        streamed = await asyncio.wait_for(live, 60)

        # -- the run as the API shows it -------------------------------------------------------
        assert final["status"] == "completed", final
        progress = final["progress"]
        assert progress["round"] == 5 and progress["queries_run"] == 10, progress
        assert progress["revisions"] == 1 and progress["citations_dropped"] == 0
        assert final["usage"]["llm_calls"] == len(llm.calls), "usage lost at a boundary"
        report = await http.get(f"{RUNS}/{run_id}/report")
        assert report.status_code == 200 and report.text.startswith("# Revised report")
        sources = (await http.get(f"{RUNS}/{run_id}/sources")).json()
        cited = {int(n) for n in re.findall(r"\[(\d+)\]", report.text)}
        assert cited and cited <= {s["number"] for s in sources}
        assert len(sources) == progress["sources_read"] >= 2
        listed = (await http.get(RUNS, params={"page_size": 200})).json()["runs"]
        assert [r["run_id"] for r in listed].count(run_id) == 1, (
            "listed once, not once per Temporal run"
        )

        # -- one event log, gap-free, live and on resume -------------------------------------
        assert_complete(streamed)
        boundaries = [e for e in streamed if e.type == "continued_as_new"]
        resume_at = boundaries[0].seq - 2
        resumed = await read_events(
            http, url, None, None, headers={"Last-Event-ID": str(resume_at)}
        )
        assert [e.seq for e in resumed] == [e.seq for e in streamed[resume_at:]]
    logged = await handle.query(ResearchWorkflow.get_events, 0)
    assert [e.model_dump() for e in logged.events] == [e.model_dump() for e in streamed]
    # answer, reject, accept: none of the repeats was applied again.
    assert [e.type for e in streamed].count("input_received") == 3
    assert [e.type for e in streamed].count("llm_call") == len(llm.calls)

    # -- Temporal's side: a chain of runs, each handing over to the next -----------------------
    chain = await chain_of(can_client, research_workflow_id(run_id))
    assert len(chain) >= 2 and len(chain) == len(boundaries) + 1, len(chain)
    for history in chain[:-1]:
        assert (
            history.events[-1].event_type
            == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
        )
    assert chain[-1].events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
    # Big texts travel by reference: what one run hands the next stays small.
    carried = chain[-1].events[0].workflow_execution_started_event_attributes.input.payloads
    assert len(carried[0].data) < 256 * 1024, len(carried[0].data)
    desc = await handle.describe()
    assert desc.typed_search_attributes.get(TOKENS_USED) == (
        final["usage"]["prompt_tokens"] + final["usage"]["completion_tokens"]
    )
    view: RunView = await handle.result()
    assert view.status.value == "completed" and view.usage.llm_calls == len(llm.calls)
    # Every link of the chain replays on this code: resuming from carried state is deterministic.
    replayer = Replayer(
        workflows=[ResearchWorkflow, ApprovalWorkflow], data_converter=pydantic_data_converter
    )
    for link, history in enumerate(chain):
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert result.replay_failure is None, f"run {link} of the chain: {result.replay_failure}"


def test_a_trimmed_log_keeps_its_sequence_numbers() -> None:
    """A log longer than what is carried keeps numbering from the whole log's length, and a
    resume from before the kept tail starts at the oldest event kept."""
    now = datetime.now(UTC)
    view = RunView(
        run_id="r",
        question="q",
        status=RunStatus.running,
        stage=Stage.researching,
        created_at=now,
        updated_at=now,
    )
    log = [RunEvent(seq=n, at=now, type="llm_call") for n in range(1, 11)]
    old = RunTracker(TrackerState(view=view, events=log), owner="me")  # no workflow calls
    state = old.snapshot(max_events=4)
    assert (state.dropped, [e.seq for e in state.events]) == (6, [7, 8, 9, 10])
    new = RunTracker(TrackerState.model_validate(state.model_dump(mode="json")), owner="me")
    assert new.events_after(8).last_seq == 10
    assert [e.seq for e in new.events_after(8).events] == [9, 10]
    assert [e.seq for e in new.events_after(2).events] == [7, 8, 9, 10]
    assert new.events_after(10).events == []


async def test_continue_as_new_carries_the_checked_claims(
    can_client: Client, can_settings: Settings, llm: FakeLLM, run_id: str
) -> None:
    """The run continues as new at its report review; the claims counts and the report's JSON
    key cross the boundary, so the finished run is judged by the claims it was written with."""
    options = RunOptions(clarify=False, depth=1, breadth=2)
    inp = ResearchInput(run_id=run_id, question="How is grid energy stored?", options=options)
    async with claims_worker(can_client, can_settings) as (own, writer):
        writer.lie = True
        handle = await can_client.start_workflow(
            ResearchWorkflow.run, inp, id=research_workflow_id(run_id), task_queue=own.task_queue
        )
        first = handle.result_run_id
        view = await wait_for_status(handle, pending_kind("report"))
        assert view.progress.claims_unsupported == 1 and view.report_json_ref
        assert (await handle.describe()).run_id != first, "no boundary before the review"
        await handle.execute_update(ResearchWorkflow.decide, Decision(accepted=True))
        final = await handle.result()
    assert final.status == RunStatus.completed_with_gaps
    # Lost counts would read "the report has no claims"; a lost JSON key, the old rule.
    assert final.finish_reason == "1 claim unsupported"
    assert final.report_json_ref == view.report_json_ref
    assert final.progress.claims == view.progress.claims >= 1
    chain = await chain_of(can_client, research_workflow_id(run_id))
    replayer = Replayer(
        workflows=[ResearchWorkflow, ApprovalWorkflow], data_converter=pydantic_data_converter
    )
    for link, history in enumerate(chain):
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert result.replay_failure is None, f"run {link} of the chain: {result.replay_failure}"
