"""Sending a person's input to a run as a Temporal update: the idempotency id, and the retry
while Temporal says the workflow was not ready. Split from api/temporal.py (the client and
error plumbing), which these build on.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from api.errors import Subject
from api.temporal import temporal_calls

log = logging.getLogger(__name__)

# An update waits until a worker has run its validator; with no worker it would wait forever.
UPDATE_TIMEOUT = timedelta(seconds=30)

# Tries of an update that Temporal refused as "workflow not ready" (see `execute_update`).
NOT_READY_TRIES = 4


def workflow_not_ready(err: BaseException) -> bool:
    """Temporal's "the workflow task carrying this update failed": nothing was applied."""
    return (
        isinstance(err, RPCError)
        and err.status == RPCStatusCode.FAILED_PRECONDITION
        and any(d.type_url.endswith("WorkflowNotReadyFailure") for d in err.grpc_status.details)
    )


async def execute_update(
    handle: WorkflowHandle[Any, Any], update: Any, arg: Any, *, id: str | None
) -> Any:
    """`handle.execute_update`, sent again while Temporal says the workflow was not ready.

    Temporal answers FAILED_PRECONDITION / WorkflowNotReady when the workflow task that carried
    the update failed, e.g. a run that tried to complete just as many inputs came in (found by
    tests/integration/test_exactly_once.py). The update was not accepted, so sending it again is
    safe, with or without an id; the caller then gets the real answer instead of a puzzling
    conflict.
    """
    for attempt in range(1, NOT_READY_TRIES + 1):
        try:
            return await handle.execute_update(update, arg, id=id, rpc_timeout=UPDATE_TIMEOUT)
        except RPCError as err:
            if attempt == NOT_READY_TRIES or not workflow_not_ready(err):
                raise
            log.info("update refused as not ready (try %d); sending it again", attempt)
            await asyncio.sleep(0.1 * attempt)
    raise AssertionError("unreachable")


async def send_input(
    handle: WorkflowHandle[Any, Any],
    subject: Subject,
    update: Any,
    arg: BaseModel,
    *,
    kind: str,
    request_id: str | None,
) -> Any:
    """A person's answer or decision, as the update `update` under the id its request id gives
    it (`update_id`), with Temporal's errors translated for `subject`."""
    async with temporal_calls(subject, handle):
        return await execute_update(handle, update, arg, id=update_id(kind, request_id, arg))


def update_id(kind: str, request_id: str | None, body: BaseModel | None = None) -> str | None:
    """Temporal update id for a client's idempotency key.

    Temporal dedupes updates by id within a workflow run; the kind prefix keeps one request_id
    used for an answer from colliding with the same id used for a decision. The body's digest is
    part of the id because Temporal answers a repeated id with the stored result without asking
    the workflow: a request id reused with another body would be told "done" for an input that
    was never applied. With the digest it reaches the workflow, which refuses it
    (`request_id_reused`); the same id with the same body is still deduped by Temporal.
    """
    if not request_id:
        return None
    if body is None:
        return f"{kind}-{request_id}"
    digest = hashlib.sha256(body.model_dump_json().encode()).hexdigest()[:16]
    return f"{kind}-{request_id}-{digest}"
