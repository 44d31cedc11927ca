"""Hardening found in review, each proved against the real Temporal dev server.

Each test failed on the first version of the core and pins the fix: request ids namespaced by
kind, stop/save failures recorded, one bad source is a gap, passages bounded in characters,
bad input fails the run, the report fits its token budget, LLM errors no retry can fix, and
runs started by the first released worker still replay on the current code.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import openai
import pytest
from pydantic import ValidationError
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.worker import Worker

from domain.run import ClarificationAnswer, Decision, RunOptions, RunStatus, StopRequest
from domain.state import ResearchInput
from providers.llm import classify
from settings import Settings
from tests.fakes.llm_server import FakeLLM
from tests.helpers import pending_kind, wait_for_status
from worker import build_activities, build_worker
from workflows.research import ResearchWorkflow
from workflows.search_attributes import RESEARCH_STATUS, research_workflow_id


async def start(client: Client, task_queue: str, run_id: str, **options: object):
    inp = ResearchInput(
        run_id=run_id, question="How is grid energy stored?", options=RunOptions(**options)
    )
    return await client.start_workflow(
        ResearchWorkflow.run, inp, id=research_workflow_id(run_id), task_queue=task_queue
    )


async def wait_until(condition: Callable[[], bool], within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.1)


@asynccontextmanager
async def own_worker(client: Client, settings: Settings) -> AsyncIterator[Worker]:
    activities = await asyncio.to_thread(build_activities, settings)
    async with build_worker(client, settings, activities) as running:
        yield running


def fail_json_for(llm: FakeLLM, monkeypatch: pytest.MonkeyPatch, kind: str, when: str) -> None:
    """Make the fake model answer `kind` with non-JSON whenever the prompt contains `when`."""
    original = llm._reply

    def reply(k: str, prompt: str) -> str:
        if k == kind and when in prompt:
            return "Sure! Here are some notes about it."
        return original(k, prompt)

    monkeypatch.setattr(llm, "_reply", reply)


# -- 1. request ids collide across kinds/reviews: a decision is silently dropped --------------


async def test_request_id_reused_for_a_decision_is_not_silently_dropped(
    client, settings, worker, llm, run_id
):
    handle = await start(client, settings.task_queue, run_id, depth=1, breadth=2)
    try:
        await wait_for_status(handle, pending_kind("clarification"))
        await handle.execute_update(
            ResearchWorkflow.answer_clarification, ClarificationAnswer(skip=True, request_id="k1")
        )
        await wait_for_status(handle, pending_kind("report"))
        # The API namespaces update ids by kind ("clarification-k1" vs "acceptance-k1") precisely
        # so that this is a distinct request; the gate's shared `results` dict undoes that.
        result = await handle.execute_update(
            ResearchWorkflow.decide, Decision(accepted=True, request_id="k1")
        )
        assert result.subject == "report" and not result.replayed, (
            f"accept answered from the clarification's record and not applied: {result}"
        )
        assert (await asyncio.wait_for(handle.result(), 30)).status == RunStatus.completed
    finally:
        await _terminate_if_running(handle)


# -- 2. failure / cancel inside the Stopped path escapes the status bookkeeping ---------------


async def test_failure_while_writing_partial_report_after_stop_is_recorded(
    client, settings, worker, llm, run_id
):
    # Stop arrives during the gaps call (notes exist), then the partial write fails for good.
    llm.reset(gaps=["costs"], delays={"GapsDraft": 4.0}, failures={"ReportDraft": [400]})
    handle = await start(client, settings.task_queue, run_id, clarify=False, depth=2)
    await wait_until(lambda: llm.count("GapsDraft") >= 1)
    await handle.signal(ResearchWorkflow.stop, StopRequest(reason="enough"))
    with pytest.raises(WorkflowFailureError):
        await asyncio.wait_for(handle.result(), 30)
    view = await handle.query(ResearchWorkflow.get_status)
    desc = await handle.describe()
    assert desc.status == WorkflowExecutionStatus.FAILED
    assert (view.status, desc.typed_search_attributes.get(RESEARCH_STATUS)) == (
        RunStatus.failed,
        RunStatus.failed.value,
    ), f"workflow FAILED but get_status/search attribute say {view.status}/{view.stage}"
    assert view.error, "the root cause (LLM rejected the request) is lost"


# -- 3. one source whose notes the model cannot write fails the whole run ---------------------


async def test_one_source_with_unusable_notes_does_not_fail_the_run(
    client, settings, worker, llm, run_id, monkeypatch
):
    # The realistic failure of a 135M model: no valid JSON for one source, 3 tries in a row.
    fail_json_for(llm, monkeypatch, "NotesDraft", "Source: Pumped hydro")
    handle = await start(
        client, settings.task_queue, run_id, clarify=False, require_acceptance=False, depth=1
    )
    try:
        final = await asyncio.wait_for(handle.result(), 60)
    except WorkflowFailureError as err:
        pytest.fail(f"one bad source failed the whole run: {err.cause}")
    assert final.status == RunStatus.completed_with_gaps and final.progress.notes >= 1


# -- 4. passage text is unbounded in characters and travels in payloads -----------------------


async def test_sources_in_a_language_without_spaces_do_not_break_the_run(
    client, settings, llm, run_id, tmp_path: Path
):
    docs = tmp_path / "docs"
    docs.mkdir()
    # Ordinary Chinese prose: punctuation, paragraphs, no spaces. split_passages counts words
    # with str.split(), so each paragraph is one "word" and one passage swallows up to 220
    # paragraphs (~50k characters). Six such articles of ~100k characters each.
    paragraph = "電池儲能系統可以把白天多餘的太陽能轉移到晚上使用，成本在過去十年大幅下降。" * 6  # noqa: RUF001
    for i in range(6):
        body = "\n\n".join([paragraph] * 600)
        (docs / f"zh{i}.md").write_text(f"# Battery storage {i}\n\nbattery storage\n\n{body}\n")
    own = settings.model_copy(
        update={
            "task_queue": f"big-{uuid.uuid4().hex[:8]}",
            "docs_dirs": [docs],
            "data_dir": tmp_path / "data",
        }
    )
    llm.reset(queries=["battery storage"])
    async with own_worker(client, own):
        handle = await start(
            client,
            own.task_queue,
            run_id,
            clarify=False,
            require_acceptance=False,
            depth=1,
            breadth=6,
        )
        try:
            final = await asyncio.wait_for(handle.result(), 30)
        except WorkflowFailureError as err:
            pytest.fail(f"the run failed on payload size: {err.cause}")
        except TimeoutError:
            history = await handle.fetch_history()
            failures = [
                e.workflow_task_failed_event_attributes.failure.message
                for e in history.events
                if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
            ]
            await _terminate_if_running(handle)
            pytest.fail(f"the run is stuck in a workflow-task retry loop: {failures[:1]}")
        assert final.progress.sources_read == 6


# -- 5. bad input that breaks workflow code loops the workflow task forever -------------------


async def test_invalid_input_fails_the_run_instead_of_looping_the_workflow_task(
    client, settings, worker, llm, run_id
):
    # The REST schema caps input_timeout at 365 days, the workflow's own model does not: any
    # direct client (or a future API bug) can start a run whose `_deadline()` overflows.
    with pytest.raises(ValidationError):  # our own model refuses it at the client...
        RunOptions(input_timeout=timedelta(days=5_000_000))
    # ...and a client that bypasses it (raw JSON) gets a failed run, not a stuck one.
    raw = {"run_id": run_id, "question": "Q?", "options": {"input_timeout": "P5000000D"}}
    handle = await client.start_workflow(
        "ResearchWorkflow", raw, id=research_workflow_id(run_id), task_queue=settings.task_queue
    )
    try:
        await asyncio.sleep(6)
        desc = await handle.describe()
        history = await handle.fetch_history()
        failed_tasks = [
            e.workflow_task_failed_event_attributes.failure.message
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
        ]
        assert desc.status != WorkflowExecutionStatus.RUNNING, (
            f"run still RUNNING with {len(failed_tasks)} failed workflow task(s): "
            f"{failed_tasks[:1]}"
        )
    finally:
        await _terminate_if_running(handle)


# -- 6. the report's max_tokens is far below what its own schema allows -----------------------


def _full_size_report() -> str:
    """A ReportDraft using the bounds the schema advertises (maxLength / maxItems)."""
    text = ("Pumped hydro and batteries store grid energy. " * 5)[:200]
    claim = {"text": text, "source": 1, "passage_id": "p1", "quote": text}
    return json.dumps(
        {
            "title": "Grid energy storage",
            "lead": ("Storage shifts energy in time. " * 8)[:240],
            "sections": [
                {"heading": f"Part {i}", "plan_item": i, "claims": [claim] * 3} for i in range(4)
            ],
        }
    )


async def test_a_report_within_its_schema_bounds_fits_the_token_budget(
    client, settings, worker, llm, run_id, monkeypatch
):
    original = llm._reply
    # Like any real server, the fake now stops at max_tokens (about 4 characters a token): a
    # schema whose largest draft ran past llm_report_max_tokens would leave the JSON cut off.
    budget_chars = settings.llm_report_max_tokens * 4

    def reply(kind: str, prompt: str) -> str:
        if kind == "ReportDraft":
            # Like a real server: the reply stops at the max_tokens the client asked for.
            return _full_size_report()[: (llm.max_tokens or 0) * 4]
        return original(kind, prompt)

    monkeypatch.setattr(llm, "_reply", reply)
    assert len(_full_size_report()) < budget_chars  # the schema's largest draft fits
    handle = await start(
        client, settings.task_queue, run_id, clarify=False, require_acceptance=False, depth=1
    )
    try:
        final = await asyncio.wait_for(handle.result(), 60)
    except WorkflowFailureError as err:
        pytest.fail(
            f"a report within the advertised bounds failed the run after "
            f"{llm.count('ReportDraft')} identical re-asks: {err.cause}"
        )
    assert final.report_ref


# -- 7. error classification: quota / payment errors retry for minutes -----------------------


def _api_error(status: int, body: dict) -> openai.APIStatusError:
    request = httpx.Request("POST", "http://llm/v1/chat/completions")
    response = httpx.Response(status, request=request, json={"error": body})
    return openai.OpenAI(api_key="x", base_url="http://llm/v1")._make_status_error(
        body.get("message", ""), body={"error": body}, response=response
    )


@pytest.mark.parametrize(
    ("status", "body"),
    [
        # OpenAI: quota exhausted is a 429 that no retry fixes (and carries no Retry-After).
        (429, {"message": "You exceeded your current quota", "code": "insufficient_quota"}),
        # OpenRouter and others: out of credits.
        (402, {"message": "Insufficient credits", "code": 402}),
        # The prompt is too large for the endpoint: the same prompt is too large every time.
        (413, {"message": "Request entity too large"}),
    ],
)
def test_errors_no_retry_can_fix_are_non_retryable(status: int, body: dict) -> None:
    err = classify(_api_error(status, body))
    assert err.non_retryable, f"{status} {body['message']!r} -> {err.type}, retried 8 times"


# -- helpers ---------------------------------------------------------------------------------


async def _terminate_if_running(handle) -> None:
    try:
        if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
            await handle.terminate("review test cleanup")
    except Exception:
        pass


# -- 8. workflow changes are not replay-checked: runs waiting on a person break on upgrade ----

# The last released workflow code (HEAD when this review was made). Runs started by its workers
# may be waiting on a person for days when a worker with newer code picks them up.
RELEASED = "23e710812de758609af85b59430cb4b2936bd9fb"


def _spawn_released_worker(settings: Settings, workdir: Path, queue: str):
    """A worker process running the released code, checked out from git into `workdir`."""
    import os
    import subprocess
    import sys

    from settings import PROJECT_ROOT

    released = workdir / "released"
    released.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(PROJECT_ROOT), "archive", RELEASED], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(released)], input=archive.stdout, check=True)
    env = {
        **os.environ,
        "PYTHONPATH": str(released),
        "RESEARCH_TEMPORAL_ADDRESS": settings.temporal_address,
        "RESEARCH_TASK_QUEUE": queue,
        "RESEARCH_LLM_BASE_URL": settings.effective_llm_base_url,
        "RESEARCH_LLM_MODEL": settings.llm_model,
        "RESEARCH_DOCS_DIRS": ",".join(str(d) for d in settings.docs_dirs),
        "RESEARCH_DATA_DIR": str(workdir / "data"),
    }
    with open(workdir / "worker.log", "wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "worker"], cwd=released, env=env, stdout=log, stderr=log
        )


async def test_runs_started_by_the_released_worker_replay_on_the_current_code(
    client, settings, llm, run_id, tmp_path: Path
):
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.worker import Replayer

    from workflows.approval import ApprovalWorkflow

    queue = f"replay-{uuid.uuid4().hex[:8]}"
    old = await asyncio.to_thread(_spawn_released_worker, settings, tmp_path, queue)
    handle = await start(client, queue, run_id, depth=1, breadth=2)
    try:
        await wait_for_status(handle, pending_kind("clarification"))
        await handle.execute_update(
            ResearchWorkflow.answer_clarification, ClarificationAnswer(answers={"q1": "now"})
        )
        await wait_for_status(handle, pending_kind("report"))
    finally:
        old.terminate()
        await asyncio.to_thread(old.wait, 15)
    history = await handle.fetch_history()
    await _terminate_if_running(handle)
    replayer = Replayer(
        workflows=[ResearchWorkflow, ApprovalWorkflow], data_converter=pydantic_data_converter
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, (
        f"in-flight run breaks on upgrade: {result.replay_failure}"
    )
