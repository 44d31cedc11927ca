"""How the research workflow calls its activities: stable names, timeouts, retry policies.

Activities are referenced by their explicit names, so this workflow module never imports the
activity code (and with it HTTP and LLM clients) into the sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, TimeoutError, TimeoutType

T = TypeVar("T")
LLM_QUEUE_SUFFIX = "-llm"  # must match worker.py
SEARCH_QUEUE_INFIX = "-search-"

# Errors that a retry cannot fix: bad configuration or bad input. They fail the run at once.
NON_RETRYABLE = [
    "bad_credentials",
    "bad_request",
    "model_not_found",
    "invalid_output",
    "source_not_found",
    "unsupported_source",
    "bad_artifact_name",
]


@dataclass(frozen=True)
class CallOptions:
    start_to_close: timedelta
    heartbeat: timedelta | None
    retry: RetryPolicy
    schedule_to_start: timedelta | None = None
    schedule_to_close: timedelta | None = None


LLM = CallOptions(
    # A slow local model can take minutes for a long report; heartbeats catch a dead worker fast.
    start_to_close=timedelta(minutes=15),
    # A dead worker's call is retried elsewhere ~3 s after its last heartbeat (recovery
    # under 5 s). The cost: a worker stalled for 3 s gets its call retried while the first
    # attempt may still finish, so those tokens are paid twice.
    heartbeat=timedelta(seconds=3),
    retry=RetryPolicy(
        initial_interval=timedelta(milliseconds=500),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=1),
        maximum_attempts=8,
        non_retryable_error_types=NON_RETRYABLE,
    ),
)
IO = CallOptions(
    # Searches, reads and saves take milliseconds to seconds (web fetches stop at
    # fetch_timeout_s, 20 s); without heartbeats this bounds the wait after a worker dies.
    start_to_close=timedelta(seconds=45),
    heartbeat=None,
    retry=RetryPolicy(
        initial_interval=timedelta(seconds=1),
        maximum_interval=timedelta(seconds=30),
        maximum_attempts=6,
        non_retryable_error_types=NON_RETRYABLE,
    ),
)

# Variants of IO: what differs is how long a failing call is tried, and how.
STORE = replace(
    IO,
    # A full or read-only artifact store is an outage an operator fixes in minutes: the run
    # waits for it (each try shows its error in the Web UI's pending activity) instead of
    # failing after IO's ~30 s. Past an hour it fails with the store's error.
    retry=replace(IO.retry, maximum_interval=timedelta(minutes=1), maximum_attempts=0),
    schedule_to_close=timedelta(hours=1),
)
SEARCH_PROVIDER = replace(
    IO,
    # Other providers answer meanwhile: a provider that is down costs the run ~15 s of retries
    # (1+2+4+8), not the minute of IO's six; a query no provider answers is a gap, not a failure.
    retry=replace(IO.retry, maximum_attempts=5),
    # Waiting in the provider's queue is how its rate limit holds, so this is generous: it only
    # ends a wait no worker will ever serve (the provider was dropped from every worker's settings).
    schedule_to_start=timedelta(minutes=10),
)

ACTIVITY_OPTIONS: dict[str, CallOptions] = {
    "llm.propose_questions": LLM,
    "llm.plan": LLM,
    "llm.generate_queries": LLM,
    "llm.take_notes": LLM,
    "llm.find_gaps": LLM,
    "llm.write_report": LLM,
    "search.search": IO,
    "search.providers": IO,
    "search.provider": SEARCH_PROVIDER,
    "read.read_source": IO,
    "artifacts.save_json": STORE,
}


def lost_before_start(name: str, err: ActivityError) -> bool:
    """The call timed out in its queue under the run's `start_timeout`: its task was lost, and
    the workflow schedules it again (Temporal does not retry this timeout itself). Activities
    with a queue wait of their own (a web search provider) fail as their options say instead."""
    cause = err.cause
    return (
        ACTIVITY_OPTIONS[name].schedule_to_start is None
        and isinstance(cause, TimeoutError)
        and cause.type == TimeoutType.SCHEDULE_TO_START
    )


def search_queue(base: str, provider: str) -> str | None:
    """The task queue of one search provider (worker.py polls it); local stays on `base`."""
    return None if provider == "local" else base + SEARCH_QUEUE_INFIX + provider


def start(
    name: str,
    arg: Any,
    result_type: type[T],
    summary: str,
    start_timeout: timedelta | None = None,
) -> workflow.ActivityHandle[T]:
    """Schedule activity `name`. `start_timeout` bounds its wait in the queue where its options
    set none: without one, a task lost before any worker started it would wait forever."""
    opts = ACTIVITY_OPTIONS[name]
    queue = None
    # LLM calls go to their own task queue, where the provider's rate limit is enforced;
    # runs started before that change keep scheduling them on the workflow's queue.
    if name.startswith("llm.") and workflow.patched("llm-task-queue"):
        queue = workflow.info().task_queue + LLM_QUEUE_SUFFIX
    elif name == "search.provider":
        # Each web provider's own queue, where its limits hold. Only runs past the
        # "search-provider-queues" patch (research_loop.py) schedule this activity at all.
        queue = search_queue(workflow.info().task_queue, arg.provider)
    return workflow.start_activity(
        name,
        arg,
        task_queue=queue,
        result_type=result_type,
        start_to_close_timeout=opts.start_to_close,
        heartbeat_timeout=opts.heartbeat,
        schedule_to_start_timeout=opts.schedule_to_start or start_timeout,
        schedule_to_close_timeout=opts.schedule_to_close,
        retry_policy=opts.retry,
        summary=summary[:200],
    )
