"""The worker: builds the providers from settings, registers workflows and activities, runs.

`python -m worker` or `research worker`. Tests call `build_worker` with their own activities.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from temporalio.client import Client, Interceptor
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime
from temporalio.worker import Worker

from activities.artifacts import ArtifactActivities
from activities.llm import LLMActivities
from activities.read import ReadActivities
from activities.search import SearchActivities
from providers.artifacts import ArtifactStore
from providers.llm import ChatClient
from providers.local_index import LocalIndex
from providers.registry import build_search_providers, fetch_policy
from providers.web_read import WebReader
from settings import Settings, get_settings
from telemetry.logs import configure_logging
from telemetry.tracing import configure_tracing, temporal_interceptors
from telemetry.worker_metrics import build_runtime
from workflows.approval import ApprovalWorkflow
from workflows.research import ResearchWorkflow

log = logging.getLogger("research.worker")

WORKFLOWS = [ResearchWorkflow, ApprovalWorkflow]


def build_activities(
    settings: Settings, chat: ChatClient | None = None
) -> list[Callable[..., Any]]:
    """The production activities; the local index is brought up to date first."""
    store = ArtifactStore(settings.artifacts_dir)
    index = LocalIndex(settings.index_path)
    stats = index.sync(settings.docs_dirs)
    log.info("local index %s: %s", settings.index_path, stats)
    llm = LLMActivities(chat or ChatClient(settings), store)
    providers = build_search_providers(settings, index)
    log.info("search providers: %s", ", ".join(p.name for p in providers))
    # Web pages can only come from web hits: without a web provider there is nothing to fetch.
    web = None
    if any(p.name != "local" for p in providers):
        web = WebReader(store, fetch_policy(settings))
    search = SearchActivities(providers)
    read = ReadActivities(index, store, web)
    artifacts = ArtifactActivities(store)
    return [
        llm.propose_questions,
        llm.plan,
        llm.generate_queries,
        llm.take_notes,
        llm.find_gaps,
        llm.write_report,
        search.search,
        read.read_source,
        artifacts.save_json,
    ]


LLM_QUEUE_SUFFIX = "-llm"  # must match workflows/activity_calls.py


class WorkerGroup:
    """The main worker (workflows and I/O activities) and the LLM worker, run together.

    LLM calls have their own task queue so the provider's limits hold across every worker:
    `llm_requests_per_minute` is enforced by the Temporal server for the whole queue, and each
    worker runs at most `llm_max_concurrent` calls at once.
    """

    def __init__(self, workers: list[Worker]) -> None:
        self.workers = workers

    async def __aenter__(self) -> WorkerGroup:
        for running in self.workers:
            await running.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        for running in reversed(self.workers):
            await running.__aexit__(*exc)


def build_worker(
    client: Client, settings: Settings, activities: Sequence[Callable[..., Any]]
) -> WorkerGroup:
    llm = [fn for fn in activities if isinstance(getattr(fn, "__self__", None), LLMActivities)]
    # On SIGTERM, running activities get this long to finish; then they are cancelled and
    # Temporal retries them on another worker.
    shutdown = timedelta(seconds=settings.worker_shutdown_timeout_s)
    main = Worker(
        client,
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        activities=list(activities),  # still here for runs started before the LLM queue
        graceful_shutdown_timeout=shutdown,
    )
    if not llm:
        return WorkerGroup([main])
    rpm = settings.llm_requests_per_minute
    llm_worker = Worker(
        client,
        task_queue=settings.task_queue + LLM_QUEUE_SUFFIX,
        activities=llm,
        max_concurrent_activities=settings.llm_max_concurrent,
        max_task_queue_activities_per_second=rpm / 60 if rpm else None,
        graceful_shutdown_timeout=shutdown,
    )
    return WorkerGroup([main, llm_worker])


async def connect(
    settings: Settings,
    attempts: int = 60,
    *,
    runtime: Runtime | None = None,
    interceptors: Sequence[Interceptor] = (),
) -> Client:
    """Connect, waiting for a Temporal server that is still starting."""
    for attempt in range(1, attempts + 1):
        try:
            return await Client.connect(
                settings.temporal_address,
                namespace=settings.temporal_namespace,
                data_converter=pydantic_data_converter,
                interceptors=interceptors,
                runtime=runtime,
            )
        except RuntimeError as exc:
            if attempt == attempts:
                raise
            log.warning(
                "Temporal at %s not reachable yet (%s); retrying", settings.temporal_address, exc
            )
            await asyncio.sleep(1)
    raise AssertionError("unreachable")


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


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    asyncio.run(run_worker(settings))


if __name__ == "__main__":
    main()
