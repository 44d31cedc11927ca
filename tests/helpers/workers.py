"""Who serves a task queue: a worker process's identity and the identities polling a queue."""

from __future__ import annotations

import socket
import subprocess

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client


def identity(proc: subprocess.Popen[bytes]) -> str:
    # The SDK's default client identity, which history records on every activity it ran.
    return f"{proc.pid}@{socket.gethostname()}"


async def pollers(client: Client, task_queue: str) -> set[str]:
    resp = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
        )
    )
    return {p.identity for p in resp.pollers}
