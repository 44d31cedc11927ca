"""The one way every process connects to Temporal: worker, API, CLI, admin, benchmarks, tests.

All of them need the same three things right: the namespace, the data converter (pydantic JSON,
encrypted when a payload key is set, so a client that skipped it would write payloads the
worker cannot read) and patience with a server that is still starting.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta

from temporalio.client import Client, Interceptor
from temporalio.converter import DataConverter
from temporalio.runtime import Runtime

from codec import data_converter
from settings import Settings

log = logging.getLogger("research.temporal")


async def connect(
    settings: Settings,
    attempts: int = 60,
    *,
    runtime: Runtime | None = None,
    interceptors: Sequence[Interceptor] = (),
    converter: DataConverter | None = None,
    connect_timeout: timedelta | None = None,
) -> Client:
    """Connect to `settings.temporal_address`, trying once a second up to `attempts` times.

    `converter` is for a caller that built it already (the API does at start, so a malformed
    payload key stops it at once rather than passing for "Temporal unreachable").
    """
    converter = converter or data_converter(settings)
    # The SDK's own default applies unless a caller bounds each try.
    timeout = {"connect_timeout": connect_timeout} if connect_timeout is not None else {}
    for attempt in range(1, attempts + 1):
        try:
            return await Client.connect(
                settings.temporal_address,
                namespace=settings.temporal_namespace,
                data_converter=converter,
                interceptors=interceptors,
                runtime=runtime,
                **timeout,
            )
        except RuntimeError as exc:
            if attempt == attempts:
                raise
            log.warning(
                "Temporal at %s not reachable yet (%s); retrying", settings.temporal_address, exc
            )
            await asyncio.sleep(1)
    raise AssertionError("unreachable")
