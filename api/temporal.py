"""The API's single Temporal client and the one place its exceptions become HTTP errors."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, TypeVar

from prometheus_client import Counter
from temporalio import workflow
from temporalio.client import (
    Client,
    DescribeWorkflowInput,
    Interceptor,
    OutboundInterceptor,
    QueryWorkflowInput,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
)
from temporalio.exceptions import TemporalError
from temporalio.service import RPCError, RPCStatusCode

from api.errors import ApiError, Subject, temporal_api_error, temporal_unavailable
from codec import data_converter
from codec.encryption import UndecryptablePayload
from runtime.temporal import connect
from settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")

CONNECT_TIMEOUT_S = 5.0
# While Temporal is down, requests fail fast instead of each waiting on a fresh connect attempt.
RECONNECT_INTERVAL_S = 2.0
PROBE_TIMEOUT = timedelta(seconds=5)


# What the API costs Temporal: queries need a worker round trip, describes only the server.
TEMPORAL_CALLS = Counter(
    "research_api_temporal_calls_total",
    "Calls the API made to Temporal, by kind",
    ["call"],
)


class _CountingOutbound(OutboundInterceptor):
    async def query_workflow(self, input: QueryWorkflowInput) -> Any:
        TEMPORAL_CALLS.labels("query").inc()
        return await self.next.query_workflow(input)

    async def describe_workflow(self, input: DescribeWorkflowInput) -> Any:
        TEMPORAL_CALLS.labels("describe").inc()
        return await self.next.describe_workflow(input)


class CallCounter(Interceptor):
    """Counts the API's queries and describes (the calls event streams repeat)."""

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _CountingOutbound(next)


class TemporalConnector:
    """Connects on first need and keeps retrying, so the API starts (and /health answers)
    before Temporal does."""

    def __init__(self, settings: Settings, interceptors: Sequence[Interceptor] = ()) -> None:
        self._settings = settings
        self._interceptors = list(interceptors)
        # Built now, not at the first connect: a malformed payload key must stop the API at
        # start rather than pass for "Temporal unreachable".
        self._data_converter = data_converter(settings)
        self._client: Client | None = None
        self._lock = asyncio.Lock()
        self._last_attempt = -math.inf
        self.last_error: str | None = None

    @property
    def client(self) -> Client | None:
        return self._client

    async def get(self) -> Client:
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is not None:
                return self._client
            now = time.monotonic()
            if self.last_error and now - self._last_attempt < RECONNECT_INTERVAL_S:
                raise temporal_unavailable(self.last_error)
            self._last_attempt = now
            try:
                self._client = await asyncio.wait_for(self._connect(), CONNECT_TIMEOUT_S + 1)
            except Exception as err:  # connect() raises RuntimeError/timeouts, not one family
                self.last_error = str(err) or type(err).__name__
                log.warning(
                    "Temporal at %s not reachable: %s", self._settings.temporal_address, err
                )
                raise temporal_unavailable(self.last_error) from err
            self.last_error = None
            log.info("connected to Temporal at %s", self._settings.temporal_address)
            return self._client

    async def _connect(self) -> Client:
        return await connect(
            self._settings,
            attempts=1,  # get() paces the retries itself, so /health answers meanwhile
            converter=self._data_converter,
            interceptors=[CallCounter(), *self._interceptors],
            connect_timeout=timedelta(seconds=CONNECT_TIMEOUT_S),
        )


def workflow_type(cls: type) -> str:
    """The registered workflow type name (honours `@workflow.defn(name=...)`)."""
    # Why the private helper: the SDK exposes no public accessor for a class's workflow name.
    return workflow._Definition.must_from_class(cls).name or cls.__name__


async def is_closed(handle: WorkflowHandle[Any, Any]) -> bool | None:
    """True if the workflow exists and has closed, False if running, None if unknown/absent."""
    try:
        desc = await handle.describe(rpc_timeout=PROBE_TIMEOUT)
    except (RPCError, TimeoutError):
        return None
    return desc.status not in (None, WorkflowExecutionStatus.RUNNING)


@asynccontextmanager
async def temporal_calls(
    subject: Subject = "run", handle: WorkflowHandle[Any, Any] | None = None
) -> AsyncIterator[None]:
    """Translate Temporal errors raised inside the block into `ApiError`.

    With a handle, a NOT_FOUND is probed once more: Temporal answers "not found" both for an id
    that never existed and for a message sent to a closed workflow, and clients need to tell
    404 (`<subject>_not_found`) from 409 (`<subject>_finished`).
    """
    try:
        yield
    except TemporalError as err:
        api_err = temporal_api_error(err, subject)
        if (
            handle is not None
            and isinstance(err, RPCError)
            and err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION)
            and await is_closed(handle)
        ):
            api_err = finished_error(subject)
        if api_err.status >= 500:
            log.warning("Temporal call failed: %r", err)
        raise api_err from err
    except (UndecryptablePayload, KeyError) as err:
        if isinstance(err, KeyError) and "payload encoding" not in str(err):
            raise
        # Encrypted under a key this API does not hold (or encrypted while it has no key):
        # the run is fine, this process is configured unlike the worker that wrote it.
        log.warning("payload of a %s cannot be decoded: %s", subject, err)
        raise ApiError(
            502,
            "payload_undecodable",
            f"this {subject}'s data is encrypted with a key this API does not hold; give the "
            "API the same RESEARCH_PAYLOAD_KEY as the workers",
        ) from err


def finished_error(subject: Subject) -> ApiError:
    return ApiError(409, f"{subject}_finished", f"the {subject} has already finished")


async def query_or_none(call: Awaitable[T], timeout_s: float) -> T | None:
    """A query's answer, or None when no worker answers in time (the caller falls back)."""
    try:
        # The rpc_timeout alone is not a hard bound: the SDK retries some failures inside it.
        return await asyncio.wait_for(call, timeout_s + 1)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise
        log.info("query unanswered (%s): %s", err.status.name, err.message)
    except (WorkflowQueryFailedError, WorkflowQueryRejectedError, TimeoutError) as err:
        log.info("query unanswered: %r", err)
    return None
