"""The person in the loop, played through Temporal updates that keep trying through faults.

Each run is started, its clarifying question answered, its first report rejected with a comment
and the revision accepted: three decisions, each sent under its own request id and retried with
that same id after any transport failure (a dead worker, a restarting server), as a careful
client would. The audit then checks that each took effect exactly once.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio.api.enums.v1 import PendingActivityState
from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from api.updates import update_id
from api.views import memo_view
from domain.run import (
    TERMINAL_STATUSES,
    ClarificationAnswer,
    Decision,
    DecisionResult,
    RunOptions,
    RunView,
)
from domain.state import ResearchInput
from workflows.research import ResearchWorkflow
from workflows.search_attributes import research_workflow_id

QUESTION = "How is grid energy stored?"
# Clarification and report acceptance on; one round, two queries: a whole run in seconds.
OPTIONS = RunOptions(depth=1, breadth=2, max_questions=1)
LOST_TASK_AFTER = timedelta(seconds=60)
ANSWER = "Europe, since 2015"
COMMENT = "add what each option costs"
# What a fault may throw at a client call that a retry with the same id is the answer to.
TRANSIENT = (RPCError, WorkflowUpdateRPCTimeoutOrCancelledError, TimeoutError, RuntimeError)


@dataclass
class Drive:
    """What the person sent to one run, for the audit to compare with what the run applied."""

    run_id: str
    decisions: list[tuple[str, bool, str]] = field(default_factory=list)
    update_ids: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def expect(self, result: DecisionResult, accepted: bool, subject: str, revision: int) -> None:
        got = (result.accepted, result.subject, result.revision)
        if got != (accepted, subject, revision):
            self.problems.append(f"{self.run_id}: decision answered {got}")


async def retrying(call: Callable[[], Any], within: float, what: str) -> Any:
    """`call()` until it returns, retrying transient failures, for at most `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        try:
            return await asyncio.wait_for(call(), 20)
        except TRANSIENT as exc:
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: still failing after {within:.0f}s: {exc!r}") from exc
            await asyncio.sleep(0.5)


async def current_view(handle: WorkflowHandle) -> RunView | None:
    """The live view when a worker answers, else the memo (a killed worker answers nothing)."""
    try:
        return await handle.query(ResearchWorkflow.get_status, rpc_timeout=timedelta(seconds=2))
    except Exception:  # no worker, no server, a query timeout: fall back, then poll again
        pass
    try:
        return await memo_view(await handle.describe(rpc_timeout=timedelta(seconds=2)))
    except Exception:
        return None


async def wait_pending(handle: WorkflowHandle, kind: str, revision: int, within: float) -> RunView:
    deadline = time.monotonic() + within
    last: RunView | None = None
    while time.monotonic() < deadline:
        last = await current_view(handle) or last
        pending = last.pending if last else None
        if pending is not None and pending.kind == kind and pending.revision == revision:
            return last  # type: ignore[return-value]
        if last is not None and last.status in TERMINAL_STATUSES:
            raise AssertionError(f"ended {last.status.value} awaiting {kind}: {last.error}")
        await asyncio.sleep(0.3)
    status = (last.status.value, last.stage.value) if last else None
    raise AssertionError(
        f"{kind} r{revision} never awaited in {within:.0f}s; last {status}; "
        f"pending activities: {await pending_activities(handle)}"
    )


async def pending_activities(handle: WorkflowHandle) -> list[str]:
    """What a stuck run waits on, as the server sees it: type, state, attempt, last failure."""
    try:
        desc = await handle.describe(rpc_timeout=timedelta(seconds=5))
    except Exception as exc:  # the server may be down right now; say so instead
        return [f"(describe failed: {exc!r})"]
    return [
        f"{act.activity_type.name} {PendingActivityState.Name(act.state)} attempt {act.attempt}"
        f" last failure {act.last_failure.message!r}"
        for act in desc.raw_description.pending_activities
    ]


async def start(
    client: Client, task_queue: str, run_id: str, within: float, options: RunOptions = OPTIONS
) -> WorkflowHandle:
    # A task lost in a server crash is scheduled again after a minute, within this suite's wait
    # for each step (production waits 10 minutes: a long queue is not a lost task).
    inp = ResearchInput(
        run_id=run_id,
        question=QUESTION,
        options=options,
        task_start_timeout=LOST_TASK_AFTER,
    )

    async def once() -> None:
        try:
            await client.start_workflow(
                ResearchWorkflow.run,
                inp,
                id=research_workflow_id(run_id),
                task_queue=task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
        except WorkflowAlreadyStartedError:
            pass  # an earlier try reached the server before the fault: started once

    await retrying(once, within, f"start {run_id}")
    return client.get_workflow_handle_for(ResearchWorkflow.run, research_workflow_id(run_id))


async def send(handle: WorkflowHandle, update: Any, arg: Any, uid: str, within: float) -> Any:
    async def once() -> Any:
        return await handle.execute_update(update, arg, id=uid, rpc_timeout=timedelta(seconds=15))

    try:
        return await retrying(once, within, uid)
    except WorkflowUpdateFailedError as exc:  # refused: the run said no, which no retry changes
        raise AssertionError(f"{uid} refused: {exc.cause}") from exc


async def drive(
    client: Client,
    task_queue: str,
    run_id: str,
    within: float = 300,
    options: RunOptions = OPTIONS,
) -> Drive:
    """Start a run and play its person to the end; returns what was sent."""
    log = Drive(run_id)
    handle = await start(client, task_queue, run_id, within, options)
    view = await wait_pending(handle, "clarification", 0, within)
    assert view.pending is not None
    rid = uuid.uuid4().hex
    answer = ClarificationAnswer(answers={view.pending.questions[0].id: ANSWER}, request_id=rid)
    log.update_ids.append(update_id("clarification", rid) or "")
    result = await send(
        handle, ResearchWorkflow.answer_clarification, answer, log.update_ids[-1], within
    )
    log.decisions.append(("clarification", True, ""))
    log.expect(result, True, "clarification", 0)
    for revision, accepted in ((0, False), (1, True)):
        await wait_pending(handle, "report", revision, within)
        rid = uuid.uuid4().hex
        comment = "" if accepted else COMMENT
        decision = Decision(accepted=accepted, comment=comment, request_id=rid)
        log.update_ids.append(update_id("acceptance", rid) or "")
        result = await send(handle, ResearchWorkflow.decide, decision, log.update_ids[-1], within)
        log.decisions.append(("report decision", accepted, comment))
        log.expect(result, accepted, "report", revision)
    await retrying(lambda: handle.result(rpc_timeout=timedelta(seconds=15)), within, "result")
    return log
