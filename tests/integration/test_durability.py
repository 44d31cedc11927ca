"""Crashes: a worker killed mid-research, and the Temporal server restarted under a waiting run."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from domain.run import ClarificationAnswer, Decision, RunOptions, RunStatus
from domain.state import ResearchInput
from settings import PROJECT_ROOT, Settings
from stack.temporal_server import TemporalDevServer
from tests.fakes.llm_server import FakeLLM
from tests.helpers import pending_kind, wait_for_status
from tests.helpers.stack import connect, free_port
from worker import build_activities, build_worker
from workflows.research import ResearchWorkflow
from workflows.search_attributes import research_workflow_id


def spawn_worker(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "RESEARCH_TEMPORAL_ADDRESS": settings.temporal_address,
        "RESEARCH_TASK_QUEUE": settings.task_queue,
        "RESEARCH_LLM_BASE_URL": settings.effective_llm_base_url,
        "RESEARCH_LLM_MODEL": settings.llm_model,
        "RESEARCH_DOCS_DIRS": ",".join(str(d) for d in settings.docs_dirs),
        "RESEARCH_DATA_DIR": str(settings.data_dir),
    }
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "worker"], cwd=PROJECT_ROOT, env=env, stdout=out, stderr=out
        )


async def wait_until(condition: Callable[[], bool], within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.1)


async def test_worker_killed_mid_research_repeats_no_completed_llm_call(
    client, settings: Settings, llm: FakeLLM, run_id: str, tmp_path: Path
) -> None:
    own = settings.model_copy(update={"task_queue": f"kill-{uuid.uuid4().hex[:8]}"})
    llm.reset(delays={"NotesDraft": 2.0})
    first = spawn_worker(own, tmp_path / "worker1.log")
    try:
        inp = ResearchInput(
            run_id=run_id,
            question="How is grid energy stored?",
            options=RunOptions(clarify=False, require_acceptance=False, depth=1, breadth=2),
        )
        handle = await client.start_workflow(
            ResearchWorkflow.run, inp, id=research_workflow_id(run_id), task_queue=own.task_queue
        )
        await wait_until(lambda: llm.count("NotesDraft") >= 1)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        done_before_kill = [c.fingerprint for c in llm.calls if c.completed]
        assert {c.kind for c in llm.calls if c.completed} >= {"text", "QueriesDraft"}
    finally:
        if first.poll() is None:
            first.kill()
    llm.script.delays = {}
    second = spawn_worker(own, tmp_path / "worker2.log")
    try:
        final = await asyncio.wait_for(handle.result(), timeout=90)
    finally:
        second.terminate()
        second.wait(15)
    assert final.status == RunStatus.completed
    assert final.progress.sources_read == 2
    calls = Counter(c.fingerprint for c in llm.calls)
    assert all(calls[fp] == 1 for fp in done_before_kill), "a completed LLM call ran again"
    # The interrupted notes call was retried on the new worker, so the fake saw more calls.
    assert llm.count("NotesDraft") > 2


async def test_run_survives_temporal_server_restart(
    settings: Settings, llm: FakeLLM, run_id: str, tmp_path: Path
) -> None:
    server = TemporalDevServer(
        port=free_port(), ui_port=None, db_path=tmp_path / "t.sqlite", log_path=tmp_path / "t.log"
    )
    server.start()
    own = settings.model_copy(update={"temporal_address": server.address})
    try:
        client = await connect(server.address)
        activities = await asyncio.to_thread(build_activities, own)
        async with build_worker(client, own, activities):
            inp = ResearchInput(
                run_id=run_id, question="How is grid energy stored?", options=RunOptions(depth=1)
            )
            handle = await client.start_workflow(
                ResearchWorkflow.run,
                inp,
                id=research_workflow_id(run_id),
                task_queue=own.task_queue,
            )
            await wait_for_status(handle, pending_kind("clarification"))
            server.kill()
            await asyncio.sleep(1)
            server.start()
            await wait_for_status(handle, pending_kind("clarification"), within=60)
            await handle.execute_update(
                ResearchWorkflow.answer_clarification, ClarificationAnswer(answers={"q1": "now"})
            )
            await wait_for_status(handle, pending_kind("report"), within=60)
            await handle.execute_update(ResearchWorkflow.decide, Decision(accepted=True))
            final = await asyncio.wait_for(handle.result(), timeout=60)
        assert final.status == RunStatus.completed
        assert final.progress.sources_read == 2
    finally:
        server.stop()


async def test_llm_concurrency_limit_holds_across_the_run(
    client, settings: Settings, llm: FakeLLM, run_id: str
) -> None:
    # Three sources are read in parallel; the LLM queue's worker lets one call through at a time.
    own = settings.model_copy(
        update={"task_queue": f"limited-{uuid.uuid4().hex[:8]}", "llm_max_concurrent": 1}
    )
    llm.reset(queries=["storage", "tea", "hydro"], delays={"NotesDraft": 0.3})
    activities = await asyncio.to_thread(build_activities, own)
    async with build_worker(client, own, activities):
        inp = ResearchInput(
            run_id=run_id,
            question="How is grid energy stored?",
            options=RunOptions(clarify=False, require_acceptance=False, depth=1, breadth=3),
        )
        handle = await client.start_workflow(
            ResearchWorkflow.run, inp, id=research_workflow_id(run_id), task_queue=own.task_queue
        )
        final = await asyncio.wait_for(handle.result(), timeout=60)
    assert final.progress.sources_read == 3 and llm.count("NotesDraft") == 3
    assert llm.max_in_flight == 1
