"""One-shot admin step: create the namespace and register our search attributes.

`python -m stack.admin` in the compose deployment (the `temporal-admin` service), after the
Temporal server is healthy and before the worker and API start. Re-runnable: what exists is
left alone, so it runs on every `docker compose up` without error. An attribute that exists with
another type is an error an operator must resolve, so it exits non-zero rather than guess.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from datetime import timedelta

from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, RegisterNamespaceRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from runtime.process_exit import run_then_exit
from runtime.temporal import connect
from settings import get_settings
from workflows.search_attributes import OPERATOR_ATTRIBUTES

log = logging.getLogger("research.admin")

# A freshly registered namespace reaches every server cache within about 10 s.
NAMESPACE_READY_ATTEMPTS = 30


class AdminError(Exception):
    """A conflict a retry cannot fix."""


async def ensure_namespace(client: Client, namespace: str, retention: timedelta) -> bool:
    """Register the namespace unless it exists; True if it was created now."""
    try:
        await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=namespace)
        )
        return False
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
    period = Duration()
    period.FromTimedelta(retention)
    try:
        request = RegisterNamespaceRequest(
            namespace=namespace, workflow_execution_retention_period=period
        )
        await client.workflow_service.register_namespace(request)
    except RPCError as err:
        if err.status != RPCStatusCode.ALREADY_EXISTS:  # another admin run won the race
            raise
        return False
    return True


async def ensure_search_attributes(client: Client, namespace: str) -> list[str]:
    """Register every operator attribute the namespace lacks; returns the names added."""
    existing = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    missing: dict[str, IndexedValueType.ValueType] = {}
    for key in OPERATOR_ATTRIBUTES:
        wanted = IndexedValueType.ValueType(int(key.indexed_value_type))
        have = existing.custom_attributes.get(key.name)
        if have is None:
            missing[key.name] = wanted
        elif have != wanted:
            raise AdminError(
                f"search attribute {key.name} exists as {IndexedValueType.Name(have)}, "
                f"we need {IndexedValueType.Name(wanted)}"
            )
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(search_attributes=missing, namespace=namespace)
        )
    return sorted(missing)


async def setup(client: Client, namespace: str, retention: timedelta) -> list[str]:
    created = await ensure_namespace(client, namespace, retention)
    if created:
        log.info("namespace %s registered", namespace)
    for attempt in range(NAMESPACE_READY_ATTEMPTS):
        try:
            return await ensure_search_attributes(client, namespace)
        except RPCError as err:
            # Right after registration the namespace may not be in every cache yet.
            if err.status != RPCStatusCode.NOT_FOUND or attempt == NAMESPACE_READY_ATTEMPTS - 1:
                raise
            await asyncio.sleep(1)
    raise AssertionError("unreachable")


async def _main(retention_days: int) -> int:
    settings = get_settings()
    client = await connect(settings)
    try:
        added = await setup(client, settings.temporal_namespace, timedelta(days=retention_days))
    except AdminError as err:
        log.error("%s", err)
        return 1
    log.info(
        "namespace %s ready; search attributes added: %s",
        settings.temporal_namespace,
        ", ".join(added) or "none (all present)",
    )
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--retention-days", type=int, default=30, help="for a new namespace")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    run_then_exit(_main(args.retention_days))


if __name__ == "__main__":
    main()
