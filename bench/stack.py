"""A fresh embedded stack for one benchmark: Temporal dev server (SQLite), the scripted LLM,
a worker process and an API process, all on loopback with free ports.

The worker and the API run as their own processes so that their memory and CPU are theirs and
the worker can be SIGKILLed. `BenchStack.client` is a raw Temporal client in this process.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TypeVar

import httpx
from temporalio.client import Client, WorkflowHandle

from settings import Settings
from stack.env import child_env
from stack.temporal_server import TemporalDevServer
from tests.conftest import connect, free_port, write_corpus
from tests.fakes.llm_server import FakeLLM
from tests.live import PROJECT_ROOT, ApiProcess
from workflows.research import ResearchWorkflow
from workflows.search_attributes import research_workflow_id

QUESTION = "How is grid energy stored?"
T = TypeVar("T")


class WorkerProcess:
    """`python -m worker` with the stack's settings; `kill()` is a SIGKILL."""

    def __init__(self, settings: Settings, log_path: Path) -> None:
        self.env = child_env(settings, os.environ)
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "worker"],
                cwd=PROJECT_ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)


class BenchStack:
    """`async with BenchStack() as s:` everything up; left in reverse order, files removed."""

    def __init__(
        self, *, api: bool = True, worker: bool = True, extra: dict[str, object] | None = None
    ) -> None:
        self.work = Path(tempfile.mkdtemp(prefix="bench-"))
        self.db_path = self.work / "temporal.sqlite"
        self.temporal = TemporalDevServer(
            port=free_port(), ui_port=None, db_path=self.db_path, log_path=self.work / "t.log"
        )
        self.llm = FakeLLM()
        self.want_api, self.want_worker = api, worker
        self.extra = extra or {}
        self.api: ApiProcess | None = None
        self.worker: WorkerProcess | None = None
        self.client: Client
        self.http: httpx.AsyncClient
        self.settings: Settings

    async def __aenter__(self) -> BenchStack:
        await asyncio.to_thread(self.temporal.start)
        self.llm.start()
        self.settings = Settings(
            _env_file=None,
            temporal_address=self.temporal.address,
            task_queue="bench",
            llm_base_url=self.llm.base_url,
            llm_model="fake",
            docs_dirs=[write_corpus(self.work / "corpus")],
            data_dir=self.work,
        ).model_copy(update=self.extra)
        self.client = await connect(self.temporal.address)
        if self.want_worker:
            self.worker = self.new_worker()
        if self.want_api:
            self.api = ApiProcess(self.settings, free_port(), self.work / "api.log")
            await asyncio.to_thread(self.api.start)
        url = self.api.url if self.api else "http://127.0.0.1:1"
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        self.http = httpx.AsyncClient(base_url=url, timeout=120, limits=limits)
        return self

    def new_worker(self) -> WorkerProcess:
        return WorkerProcess(self.settings, self.work / "worker.log").start()

    @property
    def temporal_pid(self) -> int:
        child = self.temporal._child
        assert child is not None and child.process is not None
        return child.process.pid

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.http.aclose()
        if self.api:
            self.api.kill()
        if self.worker:
            self.worker.kill()
        self.llm.stop()
        await asyncio.to_thread(self.temporal.stop)
        shutil.rmtree(self.work, ignore_errors=True)

    def handle(self, run_id: str) -> WorkflowHandle:
        return self.client.get_workflow_handle_for(
            ResearchWorkflow.run, research_workflow_id(run_id)
        )

    async def post_run(self, run_id: str, options: dict[str, object] | None = None) -> None:
        body = {"question": QUESTION, "run_id": run_id, "options": options or {"depth": 1}}
        resp = await self.http.post("/api/v1/runs", json=body)
        resp.raise_for_status()

    async def wait_waiting(self, ids: list[str], limit_s: float = 600) -> None:
        """Until every run waits on a person (queried, so it needs a live worker)."""
        deadline = time.monotonic() + limit_s
        pending = list(ids)
        while pending:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(pending)} runs never reached awaiting_input")
            views = await gather_limited(
                [self.handle(r).query(ResearchWorkflow.get_status) for r in pending], 32
            )
            pending = [r for r, v in zip(pending, views, strict=True) if v.pending is None]
            if pending:
                await asyncio.sleep(0.5)


async def gather_limited(coros: Sequence[Awaitable[T]], limit: int) -> list[T]:
    """`asyncio.gather` with at most `limit` awaiting at once."""
    gate = asyncio.Semaphore(limit)

    async def one(coro: Awaitable[T]) -> T:
        async with gate:
            return await coro

    return list(await asyncio.gather(*(one(c) for c in coros)))
