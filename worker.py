"""The worker: builds the providers from settings, registers workflows and activities, runs.

`python -m worker` or `research worker`. Tests call `build_worker` with their own activities.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Sequence
from datetime import timedelta
from functools import partial
from typing import Any, NoReturn

from temporalio.client import Client
from temporalio.worker import Worker

from activities.artifacts import ArtifactActivities
from activities.follow_up import FollowUpActivities
from activities.llm import LLMActivities
from activities.notify import NotifyActivities
from activities.read import ReadActivities
from activities.run_files import RunFileActivities
from activities.search import SearchActivities
from activities.support import SupportActivities
from activities.table import task_queue
from providers.artifacts import ArtifactStore
from providers.extract import extract
from providers.extract_pool import ExtractPool
from providers.llm import ChatClient, build_chat_client
from providers.local_index import LocalIndex
from providers.registry import build_search_providers, fetch_policy
from providers.web_read import WebReader
from runtime.process_exit import run_then_exit
from runtime.temporal import connect
from settings import Settings, get_settings
from telemetry.logs import configure_logging
from telemetry.tracing import configure_tracing, temporal_interceptors
from telemetry.worker_metrics import build_runtime
from workflows.approval import ApprovalWorkflow
from workflows.notify import NotifyWorkflow
from workflows.research import ResearchWorkflow

log = logging.getLogger("research.worker")

WORKFLOWS = [ResearchWorkflow, ApprovalWorkflow, NotifyWorkflow]


def build_activities(
    settings: Settings, chat: ChatClient | None = None
) -> list[Callable[..., Any]]:
    """The production activities; the local index is brought up to date first."""
    store = ArtifactStore(settings.artifacts_dir)
    # Parsing runs in child processes that are killed past the deadline; none start until a
    # document needs parsing. Closed with the web reader (ReadActivities.aclose) or below.
    pool = ExtractPool(settings.extract_workers, settings.extract_timeout_s)
    index = LocalIndex(settings.index_path)
    stats = index.sync(settings.docs_dirs, partial(pool.call, extract))
    log.info("local index %s: %s", settings.index_path, stats)
    llm = LLMActivities(chat or build_chat_client(settings), store)
    providers = build_search_providers(settings, index)
    log.info("search providers: %s", ", ".join(p.name for p in providers))
    # Web pages can only come from web hits: without a web provider there is nothing to fetch.
    web = None
    if any(p.name != "local" for p in providers):
        web = WebReader(store, fetch_policy(settings), pool=pool)
    else:
        pool.close()
    search = SearchActivities(providers)
    read = ReadActivities(index, store, web, settings.docs_dirs)
    artifacts = ArtifactActivities(store)
    run_files = RunFileActivities(store)
    secret = settings.notify_secret.get_secret_value() if settings.notify_secret else None
    notify = NotifyActivities(
        settings.notify_urls, secret, settings.notify_timeout_s, settings.notify_allow_private
    )
    support = SupportActivities(store)
    follow_up = FollowUpActivities(store)
    return [
        llm.propose_questions,
        llm.plan,
        llm.generate_queries,
        llm.take_notes,
        llm.find_gaps,
        llm.write_report,
        search.search,  # for runs started before per-provider search queues
        search.providers_for,
        search.provider,
        read.read_source,
        artifacts.save_json,
        run_files.save_run_files,
        notify.targets,
        notify.deliver,
        support.check_support,
        support.strike_claim,
        follow_up.load_seed,
    ]


class WorkerGroup:
    """The main worker (workflows and I/O activities), the LLM worker and one worker per web
    search provider, run together; on exit, the activities' HTTP clients are closed.

    LLM calls and each web provider's searches have their own task queue so the provider's
    limits hold across every worker: requests per minute are enforced by the Temporal server for
    the whole queue, and each worker runs at most the configured number of calls at once.
    """

    def __init__(self, workers: list[Worker], closing: Sequence[Any] = ()) -> None:
        self.workers = workers
        # Objects with an `aclose()` (activity classes owning clients), closed after the
        # workers stopped, when no activity can use them any more.
        self.closing = list(closing)

    async def __aenter__(self) -> WorkerGroup:
        for running in self.workers:
            await running.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            for running in reversed(self.workers):
                await running.__aexit__(*exc)
        finally:
            for owner in self.closing:
                try:
                    await owner.aclose()
                except Exception:  # one client failing to close must not keep the rest open
                    log.warning("closing %s failed", type(owner).__name__, exc_info=True)


def closable_owners(activities: Sequence[Callable[..., Any]]) -> list[Any]:
    """The distinct activity objects behind bound activity methods that hold clients to close."""
    owners: dict[int, Any] = {}
    for fn in activities:
        owner = getattr(fn, "__self__", None)
        if owner is not None and callable(getattr(owner, "aclose", None)):
            owners.setdefault(id(owner), owner)
    return list(owners.values())


def queue_activities(
    base: str, activities: Sequence[Callable[..., Any]]
) -> dict[str, list[Callable[..., Any]]]:
    """The activities each task queue of a worker on `base` serves, by queue name (from
    activities/table.py's `task_queue`, as the workflow's calls name them): all of them on
    `base`, where runs started before the LLM and provider queues schedule them; the LLM calls
    on the LLM queue; one provider's searches on each configured web provider's queue."""
    queues = {base: list(activities)}
    llm = [fn for fn in activities if _owned_by(fn, LLMActivities)]
    if llm:
        queues[task_queue(base, "llm")] = llm
    if (search := _search_owner(activities)) is not None:
        for name in search.web_providers:
            queues[task_queue(base, "search", name)] = [search.provider]
    return queues


def _owned_by(fn: Callable[..., Any], cls: type) -> bool:
    return isinstance(getattr(fn, "__self__", None), cls)


def _search_owner(activities: Sequence[Callable[..., Any]]) -> SearchActivities | None:
    """The SearchActivities behind `activities`, if they include the search activities."""
    owners = (getattr(fn, "__self__", None) for fn in activities)
    return next((o for o in owners if isinstance(o, SearchActivities)), None)


def build_worker(
    client: Client, settings: Settings, activities: Sequence[Callable[..., Any]]
) -> WorkerGroup:
    base = settings.task_queue
    queues = queue_activities(base, activities)
    # On SIGTERM, running activities get this long to finish; then they are cancelled and
    # Temporal retries them on another worker.
    shutdown = timedelta(seconds=settings.worker_shutdown_timeout_s)
    workers = [
        Worker(
            client,
            task_queue=base,
            workflows=WORKFLOWS,
            activities=queues.pop(base),
            graceful_shutdown_timeout=shutdown,
            max_cached_workflows=settings.worker_max_cached_workflows,
        )
    ]
    if (llm := queues.pop(task_queue(base, "llm"), None)) is not None:
        rpm = settings.llm_requests_per_minute
        workers.append(
            Worker(
                client,
                task_queue=task_queue(base, "llm"),
                activities=llm,
                max_concurrent_activities=settings.llm_max_concurrent,
                max_task_queue_activities_per_second=rpm / 60 if rpm else None,
                graceful_shutdown_timeout=shutdown,
            )
        )
    # One queue per configured web provider, each under its own limits.
    search = _search_owner(activities)
    for provider in search.web_providers if search is not None else []:
        per_minute, concurrent = settings.search_limit(provider)
        queue = task_queue(base, "search", provider)
        workers.append(
            Worker(
                client,
                task_queue=queue,
                activities=queues[queue],
                max_concurrent_activities=concurrent,
                max_task_queue_activities_per_second=per_minute / 60 if per_minute else None,
                graceful_shutdown_timeout=shutdown,
            )
        )
    return WorkerGroup(workers, closable_owners(activities))


async def run_worker(settings: Settings) -> None:
    configure_tracing(settings.otlp_endpoint, "research-worker")
    client = await connect(
        settings,
        runtime=build_runtime(settings.worker_metrics_bind),
        interceptors=temporal_interceptors(),
    )
    if settings.worker_metrics_bind:
        log.info("worker metrics on http://%s/metrics", settings.worker_metrics_bind)
    activities = await asyncio.to_thread(build_activities, settings)
    worker = build_worker(client, settings, activities)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info("worker polling %s on %s", settings.task_queue, settings.temporal_address)
    async with worker:
        await stop.wait()
    log.info("worker stopped")


def main() -> NoReturn:
    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    # Ends the process itself once the workers stopped and the clients are closed: see
    # stack/process_exit.py for the SDK's SIGABRT at interpreter teardown this avoids.
    run_then_exit(run_worker(settings))


if __name__ == "__main__":
    main()
