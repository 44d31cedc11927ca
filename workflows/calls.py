"""Running one activity from the research workflow: schedule it from its table entry, honour a
`stop`, schedule a lost task again, count the LLM usage, then let the budget check run.

Activities are referenced by their table entries (activities/table.py), so this workflow module
never imports the activity code (and with it HTTP and LLM clients) into the sandbox.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, TimeoutError, TimeoutType

with workflow.unsafe.imports_passed_through():
    from activities.table import Activity, task_queue
    from domain.calls import LLMRequest, ProviderSearchRequest
    from domain.run import StopRequest
from workflows.tracker import RunTracker

I = TypeVar("I")  # noqa: E741 - input, beside R for result
R = TypeVar("R")


class Stopped(Exception):
    """The `stop` signal arrived (or a budget was refused): finish with what the run has."""


@dataclass
class StopSwitch:
    """Whether the run was asked to stop, shared by the parts that must notice it. Not in
    RunState: a run asked to stop never continues as new, so there is nothing to carry."""

    request: StopRequest | None = None

    @property
    def asked(self) -> bool:
        return self.request is not None

    def ask(self, request: StopRequest) -> None:
        """The first request wins; later ones change nothing."""
        if self.request is None:
            self.request = request


def lost_before_start(entry: Activity[I, R], err: ActivityError) -> bool:
    """The call timed out in its queue under the run's `start_timeout`: its task was lost, and
    the workflow schedules it again (Temporal does not retry this timeout itself). Activities
    with a queue wait of their own (a web search provider) fail as their options say instead."""
    cause = err.cause
    return (
        entry.options.schedule_to_start is None
        and isinstance(cause, TimeoutError)
        and cause.type == TimeoutType.SCHEDULE_TO_START
    )


def start(
    entry: Activity[I, R], arg: I, summary: str, start_timeout: timedelta | None = None
) -> workflow.ActivityHandle[R]:
    """Schedule `entry`'s activity. `start_timeout` bounds its wait in the queue where its
    options set none: without one, a task lost before any worker started it would wait forever."""
    opts = entry.options
    base = workflow.info().task_queue
    queue = None
    # LLM calls go to their own task queue, where the provider's rate limit is enforced;
    # runs started before that change keep scheduling them on the workflow's queue.
    if entry.lane == "llm" and workflow.patched("llm-task-queue"):
        queue = task_queue(base, "llm")
    elif entry.lane == "search":
        # Each web provider's own queue, where its limits hold (the local index stays on the
        # workflow's). Only runs past the "search-provider-queues" patch (rounds.py) get here.
        assert isinstance(arg, ProviderSearchRequest)
        named = task_queue(base, "search", arg.provider)
        queue = None if named == base else named
    return workflow.start_activity(
        entry.name,
        arg,
        task_queue=queue,
        result_type=entry.result,
        start_to_close_timeout=opts.start_to_close,
        heartbeat_timeout=opts.heartbeat,
        schedule_to_start_timeout=opts.schedule_to_start or start_timeout,
        schedule_to_close_timeout=opts.schedule_to_close,
        retry_policy=opts.retry,
        summary=summary[:200],
    )


class ActivityRunner:
    """Runs the research workflow's activities, one `call` each."""

    def __init__(
        self,
        track: RunTracker,
        stop: StopSwitch,
        start_timeout: timedelta,
        after_usage: Callable[[], Awaitable[None]],
        payload_log: str | None = None,
    ) -> None:
        self.track = track
        # The run's artifact folder when it logs its LLM payloads (RunOptions.log_llm_payload).
        self.payload_log = payload_log
        self.stop = stop
        self.start_timeout = start_timeout
        # Run after every call that used an LLM: the budget guard may pause the run there.
        self.after_usage = after_usage
        # Activities completed by this run (not the chain): a run continued as new must do some
        # work before it may continue again, whatever the server suggests. Not in RunState, as
        # it counts this Temporal run only.
        self.calls_done = 0

    async def call(
        self, entry: Activity[I, R], arg: I, summary: str, interruptible: bool = True
    ) -> R:
        """Run one activity; a `stop` abandons it (unless it must finish) and raises Stopped."""
        if self.payload_log and isinstance(arg, LLMRequest):
            # Only runs that asked get the field set, so every other run's requests are as before.
            arg = arg.model_copy(update={"payload_log": self.payload_log})  # type: ignore[assignment]
        while True:
            if interruptible and self.stop.asked:
                raise Stopped()
            handle = start(entry, arg, summary, self.start_timeout)
            try:
                result = await self._outcome(handle, interruptible)
                break
            except ActivityError as err:
                if not lost_before_start(entry, err):
                    raise
                waited = self.start_timeout.total_seconds()
                message = f"{summary}: no worker started it in {waited:g} s; scheduled again"
                self.track.event("task_requeued", message, activity=entry.name)
        self.calls_done += 1
        usage = getattr(result, "usage", None)
        if usage is not None:
            self.track.add_usage(usage)
            tokens = usage.prompt_tokens + usage.completion_tokens
            self.track.event("llm_call", entry.name, tokens=tokens)
            await self.after_usage()
        return result

    async def _outcome(self, handle: workflow.ActivityHandle[R], interruptible: bool) -> R:
        if interruptible:
            await workflow.wait_condition(lambda: handle.done() or self.stop.asked)
            if not handle.done():
                handle.cancel()
                raise Stopped()
        return await handle
