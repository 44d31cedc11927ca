"""The API's Prometheus metrics: HTTP traffic, live SSE streams, and runs by status.

HTTP metrics are recorded by `api/middleware.py`. SSE_STREAMS is for the events route to
increment while a stream is open (`with SSE_STREAMS.track_inprogress(): ...`). Run counts come
from Temporal visibility at scrape time, so they are cluster-wide: every API replica reports the
same numbers (aggregate them with max(), not sum()).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta

from prometheus_client import Counter, Gauge, Histogram
from temporalio.client import Client
from temporalio.service import RPCError

from api.visibility import runs_query
from domain.run import RunStatus
from workflows.search_attributes import WAITING_SINCE

log = logging.getLogger(__name__)

REQUESTS = Counter(
    "research_api_requests_total",
    "HTTP requests handled, by route template and status code",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "research_api_request_duration_seconds",
    "HTTP request latency, by route template",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
# Label values must not grow with what clients send: a method outside these is counted as OTHER.
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(method: str) -> str:
    return method if method in HTTP_METHODS else "OTHER"


SSE_STREAMS = Gauge("research_api_sse_streams", "Server-sent event streams open right now")
RUNS = Gauge(
    "research_runs", "Research runs by status, from Temporal visibility (cluster-wide)", ["status"]
)
WAITING_OVER_A_DAY = Gauge(
    "research_runs_waiting_over_a_day", "Running research runs waiting on a person for over 24 h"
)
RUNS_SCRAPE_OK = Gauge(
    "research_runs_visibility_up", "1 if the last visibility count for research_runs succeeded"
)

# Visibility counts cost the server a query each; scrapes more frequent than this reuse them.
RUN_COUNTS_TTL_S = 10.0
COUNT_TIMEOUT = timedelta(seconds=3)
_last_refresh = -RUN_COUNTS_TTL_S


def waiting_over_query(workflow_type: str, older_than: timedelta, now: datetime) -> str:
    """Runs still open whose current human wait began before `now - older_than`."""
    cutoff = (now - older_than).astimezone(UTC).isoformat().replace("+00:00", "Z")
    return (
        f"WorkflowType = '{workflow_type}' AND ExecutionStatus = 'Running' "
        f"AND {WAITING_SINCE.name} < '{cutoff}'"
    )


async def refresh_run_counts(client: Client, workflow_type: str) -> None:
    """Update RUNS and WAITING_OVER_A_DAY from visibility (at most once per TTL)."""
    global _last_refresh
    if time.monotonic() - _last_refresh < RUN_COUNTS_TTL_S:
        return
    _last_refresh = time.monotonic()
    # One count per status: Temporal's GROUP BY works only on ExecutionStatus.
    queries = [runs_query(workflow_type, status=s) for s in RunStatus]
    queries.append(waiting_over_query(workflow_type, timedelta(days=1), datetime.now(UTC)))
    try:
        counts = await asyncio.gather(
            *(client.count_workflows(q, rpc_timeout=COUNT_TIMEOUT) for q in queries)
        )
    except (RPCError, TimeoutError) as err:
        log.warning("visibility count for metrics failed: %s", err)
        RUNS_SCRAPE_OK.set(0)
        return
    for status, count in zip(RunStatus, counts, strict=False):
        RUNS.labels(status.value).set(count.count)
    WAITING_OVER_A_DAY.set(counts[-1].count)
    RUNS_SCRAPE_OK.set(1)
