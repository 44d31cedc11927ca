"""Record the histories that tests/test_replay.py replays: one per way a run can go.

Run it after a deliberate workflow change that is NOT meant to be replay-compatible (and say
so in the commit), or to add a scenario:

    uv run python -m tests.histories.record

It starts its own Temporal dev server, worker and scripted LLM, drives each scenario to its end
and writes `<scenario>.json` beside this file.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from temporalio.client import Client, WorkflowHandle

from settings import Settings
from stack.temporal_server import TemporalDevServer
from tests.conftest import connect, free_port, write_corpus
from tests.fakes.llm_server import FakeLLM
from tests.helpers import pending_kind, wait_for_status
from worker import build_activities, build_worker
from workflows.approval import ApprovalWorkflow
from workflows.models import (
    ApprovalInput,
    ClarificationAnswer,
    Decision,
    ResearchInput,
    RunOptions,
    StopRequest,
)
from workflows.research import ResearchWorkflow

HERE = Path(__file__).parent
QUESTION = "How is grid energy stored?"


async def start(client: Client, queue: str, name: str, **options: object) -> WorkflowHandle:
    inp = ResearchInput(run_id=name, question=QUESTION, options=RunOptions(**options))
    return await client.start_workflow(
        ResearchWorkflow.run, inp, id=f"research-{name}", task_queue=queue
    )


async def rejected_then_accepted(client: Client, queue: str) -> WorkflowHandle:
    handle = await start(client, queue, "rejected", depth=2, require_plan_approval=True)
    await wait_for_status(handle, pending_kind("clarification"))
    answer = ClarificationAnswer(answers={"q1": "last decade"}, request_id="a1")
    await handle.execute_update(ResearchWorkflow.answer_clarification, answer)
    await wait_for_status(handle, pending_kind("plan"))
    await handle.execute_update(ResearchWorkflow.decide, Decision(accepted=True))
    await wait_for_status(handle, pending_kind("report"))
    reject = Decision(accepted=False, comment="add costs", request_id="r1")
    await handle.execute_update(ResearchWorkflow.decide, reject)
    await handle.execute_update(ResearchWorkflow.decide, reject)  # an idempotent repeat
    await wait_for_status(handle, lambda v: pending_kind("report")(v) and v.pending.revision == 1)
    await handle.execute_update(ResearchWorkflow.decide, Decision(accepted=True))
    return handle


async def expired(client: Client, queue: str) -> WorkflowHandle:
    return await start(client, queue, "expired", input_timeout=timedelta(seconds=2))


async def stopped_in_review(client: Client, queue: str) -> WorkflowHandle:
    handle = await start(client, queue, "stopped", clarify=False, depth=1)
    await wait_for_status(handle, pending_kind("report"))
    await handle.signal(ResearchWorkflow.stop, StopRequest(reason="enough"))
    return handle


async def cancelled(client: Client, queue: str) -> WorkflowHandle:
    handle = await start(client, queue, "cancelled")
    await wait_for_status(handle, pending_kind("clarification"))
    await handle.cancel()
    return handle


async def approval(client: Client, queue: str) -> WorkflowHandle:
    handle = await client.start_workflow(
        ApprovalWorkflow.run,
        ApprovalInput(approval_id="a", title="Ship it?"),
        id="approval-a",
        task_queue=queue,
    )
    await asyncio.sleep(0.5)
    await handle.execute_update(ApprovalWorkflow.decide, Decision(accepted=False, comment="no"))
    return handle


SCENARIOS: dict[str, Callable[[Client, str], Awaitable[WorkflowHandle]]] = {
    "research_rejected_then_accepted": rejected_then_accepted,
    "research_expired": expired,
    "research_stopped_in_review": stopped_in_review,
    "research_cancelled": cancelled,
    "approval_rejected": approval,
}


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        server = TemporalDevServer(port=free_port(), ui_port=None, db_path=data / "t.sqlite")
        server.start()
        fake = FakeLLM()
        fake.start()
        settings = Settings(
            temporal_address=server.address,
            task_queue="record",
            llm_base_url=fake.base_url,
            llm_model="fake",
            docs_dirs=[write_corpus(data / "corpus")],
            data_dir=data,
        )
        try:
            client = await connect(server.address)
            activities = await asyncio.to_thread(build_activities, settings)
            async with build_worker(client, settings, activities):
                for name, scenario in SCENARIOS.items():
                    handle = await scenario(client, settings.task_queue)
                    try:
                        await asyncio.wait_for(handle.result(), 60)
                    except Exception as exc:  # a cancelled run ends in an error; record it too
                        print(f"{name}: ended with {type(exc).__name__}")
                    history = await handle.fetch_history()
                    (HERE / f"{name}.json").write_text(history.to_json())
                    print(f"recorded {name}: {len(history.events)} events")
        finally:
            fake.stop()
            server.stop()


if __name__ == "__main__":
    asyncio.run(main())
