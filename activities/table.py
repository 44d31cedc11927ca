"""Every activity in one table: its name, input and result types, call options and task queue.

The activity classes take their names from here (`@activity.defn(name=PLAN.name)`), the
workflow's calls pass an entry (so the result type and options come with the name), and the
worker builds its queues with `task_queue`, the one function that names them. A unit test fails
if the three disagree (tests/unit/test_activity_table.py).

Imported inside the workflow sandbox: only temporalio, domain/ and the standard library here,
never providers or SDK clients.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Generic, Literal, TypeVar

from temporalio.common import RetryPolicy

from domain.calls import (
    GapsRequest,
    GapsResult,
    NotesRequest,
    NotesResult,
    PlanRequest,
    PlanResult,
    ProviderSearchRequest,
    ProvidersRequest,
    ProvidersResult,
    QueriesRequest,
    QueriesResult,
    QuestionsRequest,
    QuestionsResult,
    ReadRequest,
    ReportRequest,
    ReportResult,
    RunFiles,
    SaveJson,
    SaveRunFiles,
    SearchRequest,
    SearchResult,
    SeedRequest,
    SeedResult,
    StrikeRequest,
    SupportRequest,
    SupportResult,
)
from domain.notify import DeliveryOutcome, DeliveryRequest, TargetsRequest, TargetsResult
from domain.sources import ReadSource

I = TypeVar("I")  # noqa: E741 - input, beside R for result
R = TypeVar("R")

# Which task queue an activity is scheduled on: the workflow's own, the LLM queue (where the
# model provider's rate limit holds) or a search provider's queue (where that provider's do).
Lane = Literal["workflow", "llm", "search"]

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


def task_queue(base: str, lane: Lane = "workflow", provider: str = "local") -> str:
    """The task queue of `lane` for a worker (or workflow) on `base`. The local index needs no
    limits of its own, so its searches stay on `base`."""
    if lane == "llm":
        return base + "-llm"
    if lane == "search" and provider != "local":
        return f"{base}-search-{provider}"
    return base


@dataclass(frozen=True)
class CallOptions:
    start_to_close: timedelta
    heartbeat: timedelta | None
    retry: RetryPolicy
    schedule_to_start: timedelta | None = None
    schedule_to_close: timedelta | None = None


@dataclass(frozen=True)
class Activity(Generic[I, R]):
    """One activity: what it is called, takes and returns, how it is called, and where."""

    name: str
    input: type[I]
    result: type[R]
    options: CallOptions
    lane: Lane = "workflow"


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
SEARCH_PROVIDER_CALL = replace(
    IO,
    # Other providers answer meanwhile: a provider that is down costs the run ~15 s of retries
    # (1+2+4+8), not the minute of IO's six; a query no provider answers is a gap, not a failure.
    retry=replace(IO.retry, maximum_attempts=5),
    # Waiting in the provider's queue is how its rate limit holds, so this is generous: it only
    # ends a wait no worker will ever serve (the provider was dropped from every worker's settings).
    schedule_to_start=timedelta(minutes=10),
)

# A webhook delivery: a receiver down for an hour still gets it. Backoff doubles from 2 s to a
# 5-minute cap, so an outage costs ~12 tries an hour; past a day the delivery is given up
# (notification_failed). Never on a run's critical path (workflows/notify.py).
WEBHOOK = replace(
    IO,
    start_to_close=timedelta(seconds=30),
    retry=replace(
        IO.retry,
        initial_interval=timedelta(seconds=2),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=5),
        maximum_attempts=0,
        non_retryable_error_types=[*NON_RETRYABLE, "address_blocked"],
    ),
    schedule_to_close=timedelta(days=1),
)

PROPOSE_QUESTIONS = Activity("llm.propose_questions", QuestionsRequest, QuestionsResult, LLM, "llm")
PLAN = Activity("llm.plan", PlanRequest, PlanResult, LLM, "llm")
GENERATE_QUERIES = Activity("llm.generate_queries", QueriesRequest, QueriesResult, LLM, "llm")
TAKE_NOTES = Activity("llm.take_notes", NotesRequest, NotesResult, LLM, "llm")
FIND_GAPS = Activity("llm.find_gaps", GapsRequest, GapsResult, LLM, "llm")
WRITE_REPORT = Activity("llm.write_report", ReportRequest, ReportResult, LLM, "llm")
# Every provider in one activity: only runs started before per-provider queues schedule it.
SEARCH_ALL = Activity("search.search", SearchRequest, SearchResult, IO)
SEARCH_PROVIDERS = Activity("search.providers", ProvidersRequest, ProvidersResult, IO)
SEARCH_PROVIDER = Activity(
    "search.provider", ProviderSearchRequest, SearchResult, SEARCH_PROVIDER_CALL, "search"
)
READ_SOURCE = Activity("read.read_source", ReadRequest, ReadSource, IO)
SAVE_JSON = Activity("artifacts.save_json", SaveJson, str, STORE)
NOTIFY_TARGETS = Activity("notify.targets", TargetsRequest, TargetsResult, IO)
NOTIFY_DELIVER = Activity("notify.deliver", DeliveryRequest, DeliveryOutcome, WEBHOOK)
# Reads the report and sources.json, writes the checked report: milliseconds of work on
# artifacts, so it waits out a store outage like the saves do.
CHECK_SUPPORT = Activity("support.check_support", SupportRequest, SupportResult, STORE)
STRIKE_CLAIM = Activity("support.strike_claim", StrikeRequest, SupportResult, STORE)
# A follow-up run's seed: reads the followed run's sources.json and report, like the check does.
LOAD_SEED = Activity("follow_up.load_seed", SeedRequest, SeedResult, STORE)
# final.md and context_bundle.json as a run finishes (seed 002's files; activities/run_files.py).
SAVE_RUN_FILES = Activity("artifacts.save_run_files", SaveRunFiles, RunFiles, STORE)

TABLE: tuple[Activity[object, object], ...] = (
    PROPOSE_QUESTIONS,
    PLAN,
    GENERATE_QUERIES,
    TAKE_NOTES,
    FIND_GAPS,
    WRITE_REPORT,
    SEARCH_ALL,
    SEARCH_PROVIDERS,
    SEARCH_PROVIDER,
    READ_SOURCE,
    SAVE_JSON,
    NOTIFY_TARGETS,
    NOTIFY_DELIVER,
    CHECK_SUPPORT,
    STRIKE_CLAIM,
    SAVE_RUN_FILES,
    LOAD_SEED,
)
